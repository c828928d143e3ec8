"""Fidelity truths on a model linear in the waveform, whose exact component effects are known."""

from itertools import permutations

import numpy as np
import pytest

from mer_audiolime.explain import explain
from mer_audiolime.evaluation import (
    DeletionInsertion,
    FaithfulnessCorrelation,
    Infidelity,
    ReconstructionGap,
    SurrogateR2,
)
from mer_audiolime.exceptions import EvaluationError, ParameterError
from mer_audiolime.models import CallablePredictor

from explain_models import SR, linear_predictor, make_stems
from test_metrics_models import linear_setup, mix_of

N_SEEDS = 100


def _bound(values):
    """4 standard errors of the mean: an unbiased metric exceeds it with probability ~6e-5."""
    return 4 * np.std(values, ddof=1) / np.sqrt(len(values))


def test_exact_effects_give_faithfulness_one_and_infidelity_zero():
    exp, model, true = linear_setup(segments=2, num_samples=2000)  # K = 10, exhaustive
    for t, target in enumerate(model.output_names):
        fc = FaithfulnessCorrelation(seed=1)(exp, model, target=target, attribution=true[:, t])
        assert fc["faithfulness_corr"] == pytest.approx(1.0, abs=1e-9)
        inf = Infidelity(seed=1)(exp, model, target=target, attribution=true[:, t])
        assert inf["infidelity"] == pytest.approx(0.0, abs=1e-9) and inf["relative_infidelity"] < 1e-12
        # fixed-size subsets (Bhatt et al.'s protocol) too
        fixed = FaithfulnessCorrelation(subset_size=3, seed=2)(
            exp, model, target=target, attribution=true[:, t]
        )
        assert fixed["faithfulness_corr"] == pytest.approx(1.0, abs=1e-9)


def test_lime_weights_of_a_linear_model_are_exact_with_alpha_zero():
    exp, model, true = linear_setup(num_samples=64, alpha=0.0)
    np.testing.assert_allclose(exp.attributions["y0"].weights, true[:, 0], atol=1e-4)
    assert Infidelity()(exp, model, target="y0")["relative_infidelity"] < 1e-9
    assert SurrogateR2()(exp, model, target="y0")["r2"] == pytest.approx(1.0, abs=1e-9)


def test_random_attributions_score_about_zero_across_seeds():
    """E[score] = 0 for an attribution independent of the model: its order is a uniform random permutation
    (the baseline's law) and E[sum_S a_k] covariance with the drops is sum_k E[a_k] e_k / 4 = 0. A metric that
    leaks model outputs into the order, or mis-centres the baseline, shifts the mean by far more than the
    bound."""
    exp, model, true = linear_setup(segments=2, num_samples=2000)
    rng = np.random.default_rng(7)
    abc, aopc, fc, raw = [], [], [], []
    for s in range(N_SEEDS):
        a = rng.standard_normal(len(true))
        di = DeletionInsertion(seed=s)(exp, model, target="y0", attribution=a)
        abc.append(di["norm_abc_minus_random"])
        raw.append(di["norm_abc"])
        aopc.append(di["norm_aopc_deletion_minus_random"])
        fc.append(
            FaithfulnessCorrelation(seed=s)(exp, model, target="y0", attribution=a)["faithfulness_corr"]
        )
    for values in (abc, aopc, fc):
        assert abs(np.mean(values)) < _bound(values), (np.mean(values), _bound(values))
    perfect = DeletionInsertion(seed=0)(exp, model, target="y0", attribution=true[:, 0])
    # the random baseline differs per seed
    assert perfect["norm_abc"] >= max(raw) - 1e-12 and perfect["norm_abc_minus_random"] > 0.5


def test_true_effects_maximise_aopc_and_area_over_all_orders():
    exp, model, true = linear_setup()  # K = 5
    metric = DeletionInsertion(seed=0)
    best = metric(exp, model, target="y1", attribution=true[:, 1])
    k = len(true)
    for order in permutations(range(k)):
        weights = np.empty(k)
        weights[list(order)] = np.arange(k, 0, -1)  # order[0] ranked first
        other = metric(exp, model, target="y1", attribution=weights)
        for key in ("norm_aopc_deletion_minus_random", "norm_aopc_insertion_minus_random",
                    "norm_abc_minus_random"):
            assert other[key] <= best[key] + 1e-12, (key, order)
    assert best["scale"] > 0 and best["model_calls"] == 0


def test_curves_frame_starts_and_ends_at_the_mix_and_silence():
    exp, model, true = linear_setup()
    frame = DeletionInsertion().curves(exp, model, target="y0", attribution=true[:, 0])
    assert set(frame.curve) == {"deletion", "insertion"} and set(frame.order) == {
        "attribution",
        "random_mean",
    }
    dele = frame[(frame.curve == "deletion") & (frame.order == "attribution")]
    assert dele.value.iloc[0] == pytest.approx(exp.predictions["y0"]) and dele.value.iloc[
        -1
    ] == pytest.approx(0.0)


def test_metrics_draw_outputs_from_the_cache_and_count_new_calls():
    exp, model, true = linear_setup(segments=4, num_samples=100)  # K = 20, sampled: most subsets are new
    before = exp.cache.model_calls
    first = FaithfulnessCorrelation(n_subsets=50, seed=0)(exp, model, target="y0")
    assert 0 < first["model_calls"] <= 51 and exp.cache.model_calls == before + first["model_calls"]
    again = FaithfulnessCorrelation(n_subsets=50, seed=0)(exp, model, target="y1")
    assert again["model_calls"] == 0  # same subsets, other target: all cached
    shared = Infidelity(n_perturbations=50, seed=0)(exp, model, target="y0")
    assert shared["model_calls"] == 0  # same law and seed as the faithfulness subsets
    di = DeletionInsertion(seed=0)(exp, model, target="y0")
    assert 0 < di["model_calls"] <= 11 * 2 * 19 + 1
    assert DeletionInsertion(seed=0)(exp, None, target="y0")["model_calls"] == 0  # cache alone suffices now
    with pytest.raises(EvaluationError, match="pass model"):
        DeletionInsertion(seed=99)(exp, None, target="y0")
    exhaustive, model5, _ = linear_setup()
    for metric in (FaithfulnessCorrelation(), Infidelity(), DeletionInsertion()):
        assert metric(exhaustive, model5, target="y0")["model_calls"] == 0


def test_reconstruction_gap_is_f_of_the_residual():
    rng = np.random.default_rng(3)
    stems = make_stems(rng, seconds=1.0)
    mix = mix_of(stems) + 0.05 * rng.standard_normal((1, SR)).astype(np.float32)  # stems miss something
    model, v = linear_predictor(rng, length=mix.shape[1])
    exp = explain(mix, sr=SR, model=model, stems=stems, num_samples=64, seed=0, show_progress=False)
    assert exp.components.residual
    expected = (mix - mix_of(stems))[0].astype(np.float64) @ v[0]
    gap = ReconstructionGap()(exp, model, target="y0")
    assert gap["gap"] == pytest.approx(expected, rel=1e-4) and gap["abs_gap"] == pytest.approx(
        abs(expected), rel=1e-4
    )
    exact, m2, _ = linear_setup()
    assert ReconstructionGap()(exact, m2, target="y0")["abs_gap"] < 1e-9


def test_undefined_values_raise_instead_of_nan():
    exp, model, true = linear_setup()
    with pytest.raises(EvaluationError, match="constant"):
        FaithfulnessCorrelation()(exp, model, target="y0", attribution=np.zeros(len(true)))
    constant = CallablePredictor(lambda b: np.ones((len(b), 2)), sample_rate=SR, output_names=["y0", "y1"])
    flat = explain(
        mix_of(make_stems(np.random.default_rng(0), seconds=1.0)),
        sr=SR,
        model=constant,
        stems=make_stems(np.random.default_rng(0), seconds=1.0),
        num_samples=64,
        show_progress=False,
    )
    with pytest.raises(EvaluationError, match="R = 0"):
        DeletionInsertion()(flat, constant, target="y0", attribution=np.arange(5.0))
    with pytest.raises(EvaluationError, match="no perturbation"):
        Infidelity()(flat, constant, target="y0", attribution=np.arange(5.0))
    with pytest.raises(EvaluationError):
        FaithfulnessCorrelation()(exp, model, target="y0", attribution=np.array([np.nan] * len(true)))
    with pytest.raises(ParameterError, match="one weight per component"):
        FaithfulnessCorrelation()(exp, model, target="y0", attribution=np.ones(3))
    with pytest.raises(ParameterError, match="unknown target"):
        SurrogateR2()(exp, model, target="nope")
    with pytest.raises(ParameterError, match="n_random"):
        DeletionInsertion(n_random=5)
