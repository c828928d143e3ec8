"""Sanity truths (Adebayo et al. 2018): randomising a trained model's parameters, or training it on permuted
labels, must change LIME's attributions."""

import numpy as np
import pytest
import torch
from torch import nn

from mer_audiolime.explain import explain
from mer_audiolime.evaluation import (
    LabelRandomisation,
    ParameterRandomisation,
    PermutedLabels,
    randomisable_layers,
)
from mer_audiolime.exceptions import ParameterError
from mer_audiolime.models import TorchPredictor

from test_metrics_models import FREQS, SR, STEMS, mix_of, tone_model, tone_stems

SECONDS = 0.25


class TinyNet(nn.Module):
    """Learned filterbank (conv) -> rectified energy -> MLP: a small audio regressor."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(1, 8, kernel_size=65, stride=16)
        self.hidden = nn.Linear(8, 8)
        self.out = nn.Linear(8, 1)

    def forward(self, x):
        h = torch.relu(self.conv(x)).mean(dim=2)
        return self.out(torch.relu(self.hidden(h)))


def _tones(n, rng):
    """``n`` mixes of the five stem tones with random amplitudes and phases, and the target
    ``2 amp(vocals) - amp(bass)``."""
    t = np.arange(int(SECONDS * SR)) / SR
    amps = rng.uniform(0.0, 1.0, size=(n, len(STEMS)))
    phases = rng.uniform(0, 2 * np.pi, size=(n, len(STEMS), 1))
    freqs = np.array([FREQS[s] for s in STEMS])[None, :, None]
    x = np.sum(amps[:, :, None] * np.sin(2 * np.pi * freqs * t + phases), axis=1)
    return x[:, None, :].astype(np.float32), (2 * amps[:, 0] - amps[:, 2]).astype(np.float32)


@pytest.fixture(scope="module")
def trained():
    """TinyNet trained for 150 Adam steps (about a second), and an explanation of one held-out clip."""
    rng = np.random.default_rng(0)
    x, y = _tones(512, rng)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny ops: threads only contend (10x slower with 2 threads on a busy machine)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            net = TinyNet()
            opt = torch.optim.Adam(net.parameters(), lr=1e-2)
            xb, yb = torch.from_numpy(x), torch.from_numpy(y)[:, None]
            for step in range(150):
                idx = torch.from_numpy(rng.integers(0, len(x), 32))
                loss = ((net(xb[idx]) - yb[idx]) ** 2).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
    finally:
        torch.set_num_threads(threads)
    assert float(loss.detach()) < 0.01  # it learned the target
    pred = TorchPredictor(net, sample_rate=SR, output_names=["valence"])
    stems = tone_stems(np.random.default_rng(5), seconds=SECONDS)
    exp = explain(
        mix_of(stems),
        sr=SR,
        model=pred,
        stems=stems,
        segments=2,
        num_samples=256,
        seed=0,
        show_progress=False,
    )
    return pred, exp


def test_trained_model_attributes_to_the_vocal_tone(trained):
    pred, exp = trained
    assert set(exp.attributions["valence"].top(2)) == {"vocals@t0", "vocals@t1"}


def test_cascading_randomisation_drives_similarity_down(trained):
    """Randomising every layer leaves a model unrelated to the trained one: across five randomisation seeds
    the rank similarity to the original attribution at the bottom of the cascade averages near 0 (< 0.5),
    well below the first step's. An explainer blind to the model would stay at 1."""
    pred, exp = trained
    assert randomisable_layers(pred.module) == ["out", "hidden", "conv"]
    curves = [ParameterRandomisation(seed=10 * s)(exp, pred, target="valence") for s in range(5)]
    first = curves[0]
    assert list(first.columns) == ["step", "layer", "spearman", "spearman_abs", "model_calls"]
    assert list(first.layer) == ["(original)", "out", "hidden", "conv"] and first.spearman.iloc[0] == 1.0
    assert (first.model_calls.iloc[1:] == len(np.unique(exp.masks, axis=0))).all()
    final = np.mean([c.spearman_abs.iloc[-1] for c in curves])
    top = np.mean([c.spearman_abs.iloc[1] for c in curves])
    assert final < 0.5 and final < top
    # the original model is untouched and the curve is reproducible
    assert ParameterRandomisation(seed=0)(exp, pred, target="valence").equals(first)
    assert np.allclose(pred(exp.components.mix[None]), exp.predictions.to_numpy())


def test_independent_mode_and_layer_selection(trained):
    pred, exp = trained
    one = ParameterRandomisation(layers=["conv"], mode="independent")(exp, pred, target="valence")
    assert list(one.layer) == ["(original)", "conv"]
    whole = ParameterRandomisation(layers=[""])(exp, pred, target="valence")  # "" = the root: all at once
    assert list(whole.step) == [0, 1] and whole.spearman_abs.iloc[1] < 1.0


def test_depth_groups_blocks_of_an_mer_model():
    from mer_audiolime.models import build_model

    model = build_model(backbone_kwargs={"base_channels": 4})
    blocks = randomisable_layers(model, depth=3)
    assert blocks[:2] == ["head.emotion", "head.midlevel"] and "backbone.stages.2" in blocks
    assert len(blocks) < len(randomisable_layers(model)) and len(set(blocks)) == len(blocks)


def test_unknown_layers_are_refused(trained):
    pred, exp = trained
    with pytest.raises(ParameterError, match="unknown or no layers"):
        ParameterRandomisation(layers=["nope"])(exp, pred, target="valence")
    with pytest.raises(ParameterError, match="torch model"):
        ParameterRandomisation()(exp, tone_model({"vocals": 1.0}), target="valence")


def test_permuted_labels_keep_waveforms_and_shuffle_targets():
    items = [(np.full(3, i, np.float32), {"emotion": np.array([float(i)])}) for i in range(20)]
    view = PermutedLabels(items, seed=0)
    assert len(view) == 20 and sorted(float(view[i][1]["emotion"][0]) for i in range(20)) == list(range(20))
    assert all(view[i][0][0] == i for i in range(20))
    assert any(float(view[i][1]["emotion"][0]) != i for i in range(20))
    dicts = PermutedLabels([{"audio": w, **t} for w, t in items], seed=0)
    assert dicts[3]["audio"][0] == 3 and dicts[3]["emotion"][0] == view[3][1]["emotion"][0]


def test_label_randomisation_never_shows_the_true_labels_to_training(monkeypatch):
    """The recipe selects the epoch with the best validation loss, so validation targets reach the model: the
    random-label model must be trained and selected on permuted targets only (training and validation)."""
    import mer_audiolime.models.training as training
    from mer_audiolime.models import build_model, to_predictor

    from models_toy import EMOTIONS, ToyDataset

    seen = {}

    class Stop(Exception):
        pass

    def fake_train(train_set, *, valid_set=None, **kwargs):
        seen["train"], seen["valid"] = train_set, valid_set
        raise Stop

    monkeypatch.setattr(training, "train", fake_train)
    data, valid = ToyDataset(12, seed=0), ToyDataset(10, seed=1)
    model = to_predictor(build_model(backbone_kwargs={"base_channels": 4}, emotion_names=EMOTIONS, seed=0))
    with pytest.raises(Stop):
        LabelRandomisation(seed=3).train_random_model(model, train_set=data, valid_set=valid)

    def targets(dataset):
        return np.array([dataset[i][1]["emotion"] for i in range(len(dataset))])

    for name, true in (("train", data), ("valid", valid)):
        shown = targets(seen[name])
        assert shown.shape == targets(true).shape
        # the same targets, shuffled across items (a seeded permutation, not the true assignment)
        np.testing.assert_allclose(np.sort(shown, axis=0), np.sort(targets(true), axis=0))
        moved = ~np.all(np.isclose(shown, targets(true)), axis=1)
        assert moved.sum() >= len(true) // 2, (name, moved)
        # and the waveforms are the real ones
        np.testing.assert_array_equal(seen[name][0][0], true[0][0])


@pytest.mark.slow
def test_label_randomisation_changes_the_attribution():
    """Training is seeded, so retraining the recipe on the *true* labels reproduces the model exactly
    (similarity 1: the control); with the same seed, init and batch order but permuted labels, the only change
    is the labels, and the attributions of four clips must lose their rank agreement (mean |rho| < 0.5 over
    two permutations). A metric that compared the wrong models, or an explainer blind to the weights, stays at
    1."""
    from mer_audiolime.evaluation.metrics.sanity import _reexplain, spearman_similarity
    from mer_audiolime.models import to_predictor
    from mer_audiolime.models.training import TrainConfig, train

    from models_toy import EMOTIONS, FREQS as TOY_FREQS, SR as TOY_SR, ToyDataset

    cfg = TrainConfig(
        backbone_kwargs={"base_channels": 4},
        batch_size=8,
        num_threads=1,
        learning_rate=3e-3,
        epochs=20,
        patience=20,
    )
    data, valid = ToyDataset(64, seed=0), ToyDataset(8, seed=1)
    model = to_predictor(
        train(data, valid_set=valid, config=cfg, emotion_names=EMOTIONS, progress=False).model
    )
    t = np.arange(TOY_SR) / TOY_SR
    exps = []
    for c in range(4):
        rng = np.random.default_rng(100 + c)
        stems = {
            f"tone{j}": (0.1 * rng.uniform(0.3, 1.0) * np.sin(2 * np.pi * f * t + rng.uniform(0, 6.28)))[
                None
            ].astype(np.float32)
            for j, f in enumerate(TOY_FREQS)
        }
        exps.append(
            explain(
                sum(stems.values()),
                sr=TOY_SR,
                model=model,
                stems=stems,
                num_samples=128,
                seed=0,
                targets=["valence"],
                show_progress=False,
            )
        )
    control = to_predictor(
        train(data, valid_set=valid, config=cfg, emotion_names=EMOTIONS, progress=False).model
    )
    for exp in exps:
        b, _ = _reexplain(exp, control, "valence", 32, "lime")
        assert spearman_similarity(exp.attributions["valence"].weights, b) == {
            "spearman": 1.0,
            "spearman_abs": 1.0,
        }
    results = [
        LabelRandomisation(seed=s, config=cfg)(exps, model, target="valence", train_set=data, valid_set=valid)
        for s in (0, 1)
    ]
    assert all(r["n_explanations"] == 4 and r["model_calls"] == 4 * 128 for r in results)
    assert all(r["spearman_abs"] < 0.9 for r in results)
    assert np.mean([r["spearman_abs"] for r in results]) < 0.5
