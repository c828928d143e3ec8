"""Stability truths: identical runs agree perfectly, hand-computed VSI/CSI, convergence to the exhaustive
reference, and sensitivity that vanishes without noise and grows with it."""

import numpy as np
import pandas as pd
import pytest

from mer_audiolime.explain import explain
from mer_audiolime.evaluation import (
    Convergence,
    KendallTau,
    MaxSensitivity,
    StabilityIndices,
    TopKJaccard,
    coefficient_intervals,
    csi,
    vsi,
)
from mer_audiolime.exceptions import EvaluationError, ParameterError
from mer_audiolime.explain import kernel_weights

from explain_models import SR, make_stems, midlevel_predictor
from test_metrics_models import linear_setup, mix_of


def _nonlinear(seed, *, num_samples, segments=2, **kw):
    stems = make_stems(np.random.default_rng(11), seconds=1.0, names=("vocals", "drums", "bass"))
    model = midlevel_predictor()
    exp = explain(
        mix_of(stems),
        sr=SR,
        model=model,
        stems=stems,
        segments=segments,
        num_samples=num_samples,
        seed=seed,
        show_progress=False,
        **kw,
    )
    return exp, model


def test_identical_explanations_are_perfectly_stable():
    exps = [linear_setup(segments=2, num_samples=300, explain_seed=4)[0] for _ in range(3)]
    assert TopKJaccard(k=3)(exps, target="y0") == {"jaccard": 1.0, "jaccard_min": 1.0, "n_pairs": 3}
    assert KendallTau()(exps, target="y0")["kendall_tau"] == pytest.approx(1.0)
    idx = StabilityIndices(num_features=4)(exps, target="y0")
    assert idx["vsi"] == 1.0 and idx["csi"] == 1.0


def test_exhaustive_runs_are_exact_and_refuse_a_stability_number():
    """With 2**K <= N every seed enumerates the same masks: the attributions are identical, so a stability
    number could not vary -- the metrics say "exact (no sampling)" instead of returning 1."""
    exps = [_nonlinear(seed, num_samples=64)[0] for seed in (0, 1, 2)]
    assert all(e.settings["exhaustive"] and not e.seed_dependent for e in exps)
    for target in ("m_rms", "valence"):
        first, last = exps[0].attribution(target), exps[2].attribution(target)
        np.testing.assert_array_equal(first.weights, last.weights)
        for metric in (StabilityIndices(num_features=2), TopKJaccard(k=2), KendallTau()):
            with pytest.raises(EvaluationError, match="exact \\(no sampling\\)"):
                metric(exps, target=target)


def test_vsi_and_csi_match_hand_computed_values():
    # three calls select {0,1}, {0,2}, {1,2}: every pair shares one of p = 2 variables
    assert vsi([{0, 1}, {0, 2}, {1, 2}]) == pytest.approx(0.5)
    assert vsi([{0, 1}, {0, 1}]) == 1.0 and vsi([{0}, {1}]) == 0.0
    intervals = np.array(
        [
            [[0.0, 1.0], [0.0, 0.0], [0.0, 1.0]],
            [[0.5, 2.0], [0.0, 0.0], [1.0, 2.0]],  # touches call 0 at 1.0: closed intervals overlap
            [[3.0, 4.0], [0.0, 0.0], [2.5, 3.0]],
        ]
    )
    # variable 0: pairs (0,1) overlap, (0,2), (1,2) not -> 1/3; variable 1: 1; variable 2: (0,1) only -> 1/3
    assert csi(intervals) == pytest.approx((1 / 3 + 1 + 1 / 3) / 3)
    with pytest.raises(ParameterError):
        vsi([{0, 1}, {2}])
    with pytest.raises(EvaluationError):
        csi(np.full((2, 1, 2), np.nan))


def test_coefficient_intervals_equal_classical_wls_errors_without_ridge():
    rng = np.random.default_rng(0)
    z = rng.integers(0, 2, size=(200, 4)).astype(float)
    z[0] = 1
    y = z @ np.array([1.0, -2.0, 0.5, 0.0]) + 0.3 + 0.1 * rng.standard_normal(200)
    ci = coefficient_intervals(z, y, kernel_width=0.25, alpha=0.0)
    w = kernel_weights(z, kernel_width=0.25)
    x = np.column_stack([np.ones(len(z)), z])  # explicit intercept column
    xtwx = x.T @ (w[:, None] * x)
    beta = np.linalg.solve(xtwx, x.T @ (w * y))
    sigma2 = np.sum(w * (y - x @ beta) ** 2) / (len(z) - 5)
    sd = np.sqrt(np.diag(sigma2 * np.linalg.inv(xtwx)))[1:]
    np.testing.assert_allclose(ci.mean(axis=1), beta[1:], atol=1e-10)
    np.testing.assert_allclose((ci[:, 1] - ci[:, 0]) / 2, 1.959963984540054 * sd, rtol=1e-8)


def test_rank_agreement_of_different_runs_and_reversal():
    exps = [_nonlinear(seed, num_samples=40, segments=3)[0] for seed in (0, 1, 2, 3)]  # K = 9, sampled
    jac = TopKJaccard(k=3)(exps, target="m_rms")
    tau = KendallTau()(exps, target="m_rms")
    assert 0 <= jac["jaccard_min"] <= jac["jaccard"] <= 1 and jac["n_pairs"] == 6
    assert -1 <= tau["kendall_tau_min"] <= tau["kendall_tau"] <= 1
    a = exps[0].attributions["m_rms"]
    b = type(a)(**{**a.__dict__, "weights": -a.weights})
    assert KendallTau()([a, b], target="m_rms")["kendall_tau"] == pytest.approx(-1.0)
    c = type(a)(**{**a.__dict__, "weights": np.zeros_like(a.weights)})
    with pytest.raises(EvaluationError):
        KendallTau()([a, c], target="m_rms")
    with pytest.raises(ParameterError, match="at least two"):
        TopKJaccard()(exps[:1], target="m_rms")


def test_convergence_reaches_the_exhaustive_reference():
    exp, model = _nonlinear(0, num_samples=200, segments=2)  # K = 6, 64 coalitions
    sizes = (16, 64, 256, 4096, 65536)
    metric = Convergence(sample_sizes=sizes, seeds=(0, 1, 2))
    frame = metric(exp, model, target="valence")
    assert list(frame.columns) == [
        "num_samples",
        "seed",
        "rel_error",
        "kendall_tau",
        "top_k_jaccard",
        "reference_alpha",
    ]
    err = frame.groupby("num_samples").rel_error.mean()
    # Monte-Carlo rate: the error falls like N^(-1/2) (a factor 2 of slack) and reaches the reference
    assert err.is_monotonic_decreasing and err.loc[65536] < 0.01
    for n in sizes:
        assert err.loc[n] <= 2 * err.loc[16] * np.sqrt(16 / n), n
    assert frame.attrs["model_calls"] <= 64
    # without a ridge penalty both references coincide
    exp0, _ = _nonlinear(0, num_samples=200, segments=2, alpha=0.0)
    a = Convergence(sample_sizes=(512,), seeds=(0,))(exp0, model, target="valence")
    b = Convergence(sample_sizes=(512,), seeds=(0,), reference="fixed")(exp0, model, target="valence")
    pd.testing.assert_frame_equal(a, b)
    with pytest.raises(ParameterError, match="max_components"):
        Convergence(max_components=4)(exp, model, target="valence")


def test_sensitivity_vanishes_without_noise_and_grows_with_it():
    exp, model, _ = linear_setup(num_samples=64)  # K = 5, exhaustive
    quiet = MaxSensitivity(snr_db=100.0, n_perturbations=2)(exp, model, target="y0")
    assert quiet["max_sensitivity"] < 1e-3 and quiet["model_calls"] == 2 * 32
    loud = MaxSensitivity(snr_db=10.0, n_perturbations=3, seed=1)(exp, model, target="y0")
    mid = MaxSensitivity(snr_db=30.0, n_perturbations=3, seed=1)(exp, model, target="y0")
    assert loud["max_sensitivity"] > mid["max_sensitivity"] > quiet["max_sensitivity"]
    assert loud["max_sensitivity"] >= loud["mean_sensitivity"]
    assert MaxSensitivity(snr_db=30.0, n_perturbations=3, seed=1)(exp, model, target="y0") == mid  # seeded
