"""Contract of every registered metric: declared facts, a finite result holding its primary number, NaN
refused.

Adding a metric to the registry without a recipe here fails ``test_every_metric_has_a_recipe``.
"""

import numpy as np
import pandas as pd
import pytest

from mer_audiolime.explain import explain
from mer_audiolime.evaluation import METRICS, Metric, check_finite, get_metric, stem_frame
from mer_audiolime.evaluation.metrics.base import CATEGORIES, DIRECTIONS, register
from mer_audiolime.exceptions import EvaluationError, ParameterError
from mer_audiolime.models import TorchPredictor

from test_metrics_models import STEMS, explain_tones, linear_setup, mix_of, tone_model, tone_stems


@pytest.fixture(scope="module")
def linear():
    exp, model, _ = linear_setup(num_samples=64)
    # seed stability needs masks that depend on the seed: 5 stems x 2 segments, 2**10 > N
    seeds = [linear_setup(num_samples=64, segments=2, explain_seed=s)[0] for s in (0, 1, 2)]
    return exp, model, seeds


@pytest.fixture(scope="module")
def torch_setup():
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = torch.nn.Sequential(torch.nn.Linear(400, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    pred = TorchPredictor(net, sample_rate=8000, output_names=["valence"], squeeze_channels=True)
    stems = tone_stems(np.random.default_rng(0), seconds=0.05)
    exp = explain(mix_of(stems), sr=8000, model=pred, stems=stems, num_samples=64, show_progress=False)
    return exp, pred


@pytest.fixture(scope="module")
def mer_setup():
    from mer_audiolime.models import build_model, to_predictor

    def build(seed):
        return to_predictor(build_model(backbone_kwargs={"base_channels": 4}, seed=seed))

    model, other = build(0), build(1)
    stems = tone_stems(np.random.default_rng(1), seconds=1.0, sr=model.sample_rate)
    exp = explain(
        mix_of(stems),
        sr=model.sample_rate,
        model=model,
        stems={k: v for k, v in stems.items()},
        num_samples=16,
        exhaustive=False,
        seed=0,
        targets=["valence"],
        show_progress=False,
    )
    return exp, model, other


@pytest.fixture(scope="module")
def bias_frames():
    rng = np.random.default_rng(0)
    frames = []
    for m, shortcut in enumerate((4.0, 0.0)):
        model = tone_model({"vocals": shortcut, "drums": 1.0, "bass": -0.5})
        for i in range(10):
            exp = explain_tones(tone_stems(rng), model, seed=i)
            frames.append(
                stem_frame(
                    exp,
                    target="valence",
                    model=f"m{m}",
                    track_id=f"t{i}",
                    biased=bool(shortcut),
                    genre="hip-hop" if i % 2 else "rock",
                )
            )
    stems = pd.concat(frames, ignore_index=True)
    n = 40
    tracks = pd.DataFrame(
        {
            "track_id": range(n),
            "genre": ["hip-hop", "rock"] * (n // 2),
            "truth": rng.normal(size=n),
            "prediction": rng.normal(size=n),
        }
    )
    effects = pd.DataFrame(
        [
            {"track_id": i, "genre": g, "feature": f, "effect": rng.normal()}
            for i, g in zip(tracks.track_id, tracks.genre)
            for f in ("a", "b")
        ]
    )
    return stems, tracks, effects


RECIPES = {
    "surrogate_r2": lambda f: (f["linear"][0], f["linear"][1]),
    "reconstruction_gap": "single",
    "faithfulness_correlation": "single",
    "infidelity": "single",
    "deletion_insertion": "single",
    "top_k_jaccard": "seeds",
    "kendall_tau": "seeds",
    "stability_indices": "seeds",
    "convergence": "single",
    "max_sensitivity": "single",
    "parameter_randomisation": "torch",
    "label_randomisation": "mer",
    "planted_bias": "planted",
    "subgroup_error": "tracks",
    "subgroup_error_share": "tracks",
    "subgroup_effect_profile": "effects",
    "subgroup_top_stems": "stems",
}


def _run(name, linear, torch_setup, mer_setup, bias_frames):
    metric = get_metric(name)
    kind = RECIPES[name]
    exp, model, seeds = linear
    if callable(kind) or kind == "single":
        options = {"target": "y0"}
        return metric, metric(exp, model, **options)
    if kind == "seeds":
        return metric, metric(seeds, target="y0")
    if kind == "torch":
        return metric, metric(torch_setup[0], torch_setup[1], target="valence")
    if kind == "mer":
        mexp, mmodel, other = mer_setup
        return metric, metric([mexp], mmodel, target="valence", random_model=other)
    stems, tracks, effects = bias_frames
    if kind == "planted":
        return metric, metric(stems, target="valence")
    if kind == "tracks":
        return metric, metric(tracks, group="genre")
    if kind == "effects":
        return metric, metric(effects, group="genre")
    return metric, metric(stems[stems.model == "m0"], group="genre")


def test_every_metric_has_a_recipe():
    assert set(RECIPES) == set(METRICS)
    assert len(METRICS) >= 17


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_metric_contract(name, linear, torch_setup, mer_setup, bias_frames):
    cls = METRICS[name]
    assert issubclass(cls, Metric) and cls.name == name
    assert cls.direction in DIRECTIONS and cls.category in CATEGORIES and cls.primary
    doc = cls.__doc__ or ""
    assert "Cost" in doc and "__call__" in doc, "docstrings state the model-call cost and the call signature"
    metric, result = _run(name, linear, torch_setup, mer_setup, bias_frames)
    assert repr(metric).startswith(cls.__name__) and isinstance(metric.options(), dict)
    if isinstance(result, pd.DataFrame):
        assert cls.primary in result.columns and len(result)
        numeric = result.select_dtypes("number").to_numpy(dtype=float)
    else:
        assert isinstance(result, dict) and cls.primary in result
        numeric = np.array([v for v in result.values() if not isinstance(v, str)], dtype=float)
    assert np.all(np.isfinite(numeric))


def test_nan_results_raise_evaluation_error():
    class Broken(Metric):
        """Returns NaN. Cost: none. ``__call__() -> {"value"}``"""

        name, primary, direction, category = "broken_for_test", "value", "higher", "fidelity"

        def compute(self):
            return {"value": float("nan")}

    with pytest.raises(EvaluationError, match="broken_for_test"):
        Broken()()
    with pytest.raises(EvaluationError, match="column"):
        check_finite(pd.DataFrame({"x": [1.0, np.inf]}), metric="m")
    with pytest.raises(EvaluationError):
        check_finite([1.0], metric="m")
    assert "broken_for_test" not in METRICS


def test_registry_refuses_bad_declarations():
    class NoDirection(Metric):
        name, primary, direction, category = "bad_for_test", "x", "sideways", "fidelity"

    with pytest.raises(ParameterError, match="direction"):
        register(NoDirection)

    class Duplicate(Metric):
        name, primary, direction, category = "infidelity", "x", "lower", "fidelity"

    with pytest.raises(ParameterError, match="already registered"):
        register(Duplicate)
    with pytest.raises(ParameterError, match="unknown metric"):
        get_metric("nope")
    assert set(STEMS) >= {"vocals"}
