"""LIME adjusted for within-segment pairs: exact moments, exactness, same estimand, less noise."""

from itertools import combinations
from math import comb

import numpy as np
import pytest

from mer_audiolime.exceptions import ParameterError
from mer_audiolime.explain import explain, fit_surrogate
from mer_audiolime.explain.adjustment import (fit_adjusted_surrogate, fit_interaction_model,
                                              interaction_pairs, interaction_terms, population_fit,
                                              size_moments)
from mer_audiolime.explain.sampling import all_coalitions
from mer_audiolime.explain.samplers import draw_masks
from mer_audiolime.explain.surrogate import kernel_weights

from explain_models import SR, make_stems, midlevel_predictor


def _layout(stems, segments):
    """Segment of each component in build_components' order (stem-major)."""
    return np.tile(np.arange(segments), stems)


def _enumerated(k):
    """All 2**k coalitions, the all-on one first (fit_surrogate wants it in row 0)."""
    z = all_coalitions(k)
    return np.vstack([np.ones((1, k), np.uint8), z[~np.all(z == 1, axis=1)]])


def _polynomial(k, pairs, triples, seed):
    """A random model: intercept, main effects, the given pairs and three-way interactions."""
    rng = np.random.default_rng(seed)
    b, w = rng.normal(), rng.normal(size=k)
    cp, ct = rng.normal(size=len(pairs)), 0.5 * rng.normal(size=len(triples))

    def f(z):
        z = np.asarray(z, dtype=np.float64)
        out = b + z @ w + sum(c * z[:, a] * z[:, e] for c, (a, e) in zip(cp, pairs))
        return (out + sum(c * z[:, a] * z[:, e] * z[:, g] for c, (a, e, g) in zip(ct, triples)))[:, None]

    return f, (np.array([b]), w[None], cp[None])


def _weights(atts):
    return atts["y"].weights


COMP = [f"c{i}" for i in range(20)]


def test_interaction_pairs():
    g = _layout(2, 3)  # [0 1 2 0 1 2]
    assert interaction_pairs(g, neighbours=False).tolist() == [[0, 3], [1, 4], [2, 5]]
    near = interaction_pairs(g, neighbours=True)
    assert all(abs(g[a] - g[c]) <= 1 for a, c in near) and len(near) == 3 + 8
    assert interaction_pairs(None).shape == (0, 2)


@pytest.mark.parametrize("k", [1, 4, 9])
def test_size_moments_equal_brute_force(k):
    z = all_coalitions(k).astype(np.float64)
    pi = kernel_weights(z)
    expected = [pi.mean()] + [np.mean(pi * np.prod(z[:, :j], axis=1)) if j <= k else 0.0 for j in (1, 2, 3)]
    np.testing.assert_allclose(size_moments(k), expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("n_rows, alpha", [(100, 1.0), (1000, 1.0), (5000, 0.3), (1000, 0.0)])
def test_population_fit_equals_lime_on_every_coalition_counted_n_over_2k_times(n_rows, alpha):
    # the exact moments against LIME itself (LimeBase) on all 2**K coalitions, each counted its expected
    # multiplicity N / 2**K among N sampled rows
    k = 10
    pairs = interaction_pairs(_layout(2, 5), neighbours=True)
    f, (b, w, v) = _polynomial(k, [tuple(p) for p in pairs], [], seed=1)
    z = _enumerated(k)
    lime = fit_surrogate(z, f(z), output_names=["y"], component_names=COMP[:k], alpha=alpha,
                         multiplicity=n_rows / 2**k)["y"]
    w_pop, b_pop = population_fit(b, w, v, pairs, n_rows=n_rows, alpha=alpha)
    np.testing.assert_allclose(w_pop[0], lime.weights, rtol=0, atol=1e-10)
    assert b_pop[0] == pytest.approx(lime.intercept, abs=1e-10)


def test_exact_for_a_model_of_main_effects_and_within_segment_pairs():
    # f lies in the interaction model's span: with no ridge the adjusted estimate is the population fit on
    # any rows that identify the model's coefficients (here i.i.d. rows; in a `grouped` block some
    # within-segment pairs share a column), while plain LIME on the same rows is not
    stems, segments = 5, 4
    groups = _layout(stems, segments)
    k = stems * segments
    pairs = interaction_pairs(groups)
    f, (b, w, v) = _polynomial(k, [tuple(p) for p in pairs], [], seed=2)
    n = 257
    w_pop, _ = population_fit(b, w, v, pairs, n_rows=n, alpha=0.0)
    for seed in range(3):
        z = draw_masks(k, n, sampler="uniform", rng=np.random.default_rng(seed))
        adj = fit_adjusted_surrogate(z, f(z), groups=groups, output_names=["y"], component_names=COMP,
                                     alpha=0.0, pair_alpha=1e-9)
        plain = fit_surrogate(z, f(z), output_names=["y"], component_names=COMP, alpha=0.0)
        np.testing.assert_allclose(_weights(adj), w_pop[0], rtol=0, atol=1e-6)
        assert np.abs(_weights(plain) - w_pop[0]).max() > 1e-3


def _segment_model(stems, segments, seed):
    """Main effects and pairs inside a segment (coefficients ~ N(0, 1)), weaker pairs across neighbouring
    segments and triples inside a segment (~ N(0, 0.3^2)): the ordering measured on the zoo models."""
    groups = _layout(stems, segments)
    k = stems * segments
    within = [(a, c) for a, c in combinations(range(k), 2) if groups[a] == groups[c]]
    near = [(a, c) for a, c in combinations(range(k), 2) if abs(groups[a] - groups[c]) == 1]
    triples = [t for t in combinations(range(k), 3) if len(set(groups[list(t)])) == 1]
    f_within, _ = _polynomial(k, within, [], seed)
    f_rest, _ = _polynomial(k, near, triples, seed + 1)
    return groups, lambda z: f_within(z) + 0.3 * (f_rest(z) - f_rest(np.zeros((1, k))))


def test_same_estimand_and_less_noise_than_grouped():
    # 3 stems x 4 segments (K = 12); the population fit by enumeration (each coalition counted N / 2**K
    # times). Over 300 seeds of `grouped` masks the adjusted estimate's root-mean-square error is well below
    # plain LIME's on the same masks (measured 0.125 / 0.260 at N = 129, 0.016 / 0.137 at N = 513), and its
    # finite-sample bias is LIME's own kind: about as large at N = 129 (0.029 / 0.026) and shrinking at least
    # like 1 / N (0.002 / 0.012 at N = 513), so both converge to the same answer
    stems, segments = 3, 4
    groups, f = _segment_model(stems, segments, seed=4)
    k, seeds = stems * segments, 300
    z_all = _enumerated(k)
    bias = {}
    for n in (129, 513):
        target = fit_surrogate(z_all, f(z_all), output_names=["y"], component_names=COMP[:k],
                               multiplicity=n / 2**k)["y"].weights
        adjusted, grouped = [], []
        for seed in range(seeds):
            z = draw_masks(k, n, sampler="grouped", rng=np.random.default_rng(seed), groups=groups)
            adjusted.append(_weights(fit_adjusted_surrogate(z, f(z), groups=groups, output_names=["y"],
                                                            component_names=COMP[:k])))
            grouped.append(_weights(fit_surrogate(z, f(z), output_names=["y"], component_names=COMP[:k])))
        adjusted, grouped = np.array(adjusted), np.array(grouped)

        def rmse(est):
            return float(np.sqrt(((est - target) ** 2).sum(axis=1).mean()))

        assert rmse(adjusted) < 0.75 * rmse(grouped)
        bias[n] = [float(np.abs(est.mean(axis=0) - target).max()) for est in (adjusted, grouped)]
        assert bias[n][0] < 1.25 * bias[n][1]
    assert bias[513][0] < 0.4 * bias[129][0]


def test_linear_in_the_outputs_and_deterministic():
    groups = _layout(5, 4)
    z = draw_masks(20, 150, sampler="grouped", rng=np.random.default_rng(0), groups=groups)
    rng = np.random.default_rng(1)
    y1, y2 = rng.normal(size=(150, 1)), rng.normal(size=(150, 1))

    def fit(y):
        return _weights(fit_adjusted_surrogate(z, y, groups=groups, output_names=["y"], component_names=COMP))

    np.testing.assert_allclose(fit(2 * y1 - 3 * y2), 2 * fit(y1) - 3 * fit(y2), rtol=0, atol=1e-10)
    np.testing.assert_array_equal(fit(y1), fit(y1))


def test_without_pairs_it_is_plain_lime_and_bad_settings_are_refused():
    z = draw_masks(6, 50, sampler="uniform", rng=np.random.default_rng(0))
    y = np.random.default_rng(1).normal(size=(50, 1))
    plain = fit_surrogate(z, y, output_names=["y"], component_names=COMP[:6])["y"]
    for groups in (None, [0, 2, 4, 6, 8, 10]):  # no layout; no two components in one or adjacent groups
        adj = fit_adjusted_surrogate(z, y, groups=groups, output_names=["y"], component_names=COMP[:6])["y"]
        np.testing.assert_array_equal(adj.weights, plain.weights)
        assert "adjustment" not in adj.info
    with pytest.raises(ParameterError, match="pair_alpha"):
        fit_adjusted_surrogate(z, y, groups=[0] * 6, output_names=["y"], component_names=COMP[:6],
                               pair_alpha=0)
    soft = z * 0.5
    soft[0] = 1.0
    with pytest.raises(ParameterError, match="0/1 masks"):
        fit_adjusted_surrogate(soft, y, groups=[0] * 6, output_names=["y"], component_names=COMP[:6])
    for bad in ({"higher_alpha": -1.0}, {"distant_alpha": float("nan")}):
        with pytest.raises(ParameterError, match=next(iter(bad))):
            fit_adjusted_surrogate(z, y, groups=[0] * 6, output_names=["y"], component_names=COMP[:6], **bad)
    with pytest.raises(ParameterError, match="one integer group id per component"):
        fit_adjusted_surrogate(z, y, groups=[0, 0, 1], output_names=["y"], component_names=COMP[:6])


def test_interaction_model_recovers_its_coefficients():
    groups = _layout(5, 4)
    pairs = interaction_pairs(groups)
    f, (b, w, v) = _polynomial(20, [tuple(p) for p in pairs], [], seed=4)
    z = draw_masks(20, 300, sampler="uniform", rng=np.random.default_rng(0))
    b_h, w_h, v_h = fit_interaction_model(z, f(z), pairs, alpha=1e-9, pair_alpha=1e-9)
    np.testing.assert_allclose(w_h, w, atol=1e-6)
    np.testing.assert_allclose(v_h, v, atol=1e-6)
    assert b_h[0] == pytest.approx(b[0], abs=1e-6)


def test_explain_with_grouped_adjusted_masks_and_exact_chain():
    """The sampler draws `grouped`'s masks; the fit is adjusted; the chain stays exact (linear steps)."""
    stems = make_stems(np.random.default_rng(0), seconds=1.5)
    mix = np.sum(list(stems.values()), axis=0)
    model = midlevel_predictor()
    kw = dict(sr=SR, model=model, stems=stems, segments=3, num_samples=300, seed=2, show_progress=False)
    adj = explain(mix, sampler="grouped-adjusted", **kw)
    grp = explain(mix, sampler="grouped", **kw)
    assert adj.settings["sampler"] == "grouped-adjusted" and not adj.settings["exhaustive"]
    np.testing.assert_array_equal(adj.masks, grp.masks)
    assert adj.timings["model_calls"] == grp.timings["model_calls"]
    m = model.midlevel_names[0]
    assert adj.attribution(m).info["adjustment"] == "segment-pairs+neighbours"
    assert not np.allclose(adj.attribution(m).weights, grp.attribution(m).weights)
    mid = np.stack([adj.attribution(name, "lime").weights for name in model.midlevel_names])
    for i, emo in enumerate(model.emotion_names):
        np.testing.assert_allclose(adj.attribution(emo, "chain:lime").weights, model.emotion_weights[i] @ mid,
                                   rtol=0, atol=1e-12)
        np.testing.assert_allclose(adj.attribution(emo, "chain:lime").weights,
                                   adj.attribution(emo, "lime").weights, rtol=1e-9, atol=1e-12)


def test_interaction_terms_orders_and_classes():
    g = _layout(3, 3)  # [0 1 2 0 1 2 0 1 2]: three components per segment
    terms, kinds = interaction_terms(g, neighbours=False, within_order=3)
    assert terms[:9] == [tuple(p) for p in interaction_pairs(g, neighbours=False).tolist()]
    assert terms[9:] == [(0, 3, 6), (1, 4, 7), (2, 5, 8)] and kinds == ["pair"] * 9 + ["higher"] * 3
    whole, _ = interaction_terms(g, neighbours=False, within_order=99)
    assert whole == terms  # nothing above the segment's size
    far, kinds = interaction_terms(g, neighbours=True, distant=True)
    assert len(far) == 36 and kinds.count("distant") == 9  # every pair; segments 0 and 2 are distant
    assert all(abs(g[a] - g[c]) == 2 for (a, c), kind in zip(far, kinds) if kind == "distant")
    assert interaction_terms(None) == ([], [])
    with pytest.raises(ParameterError, match="within_order"):
        interaction_terms(g, within_order=1)


@pytest.mark.parametrize("alpha", [1.0, 0.0])
def test_population_fit_of_higher_order_terms_equals_lime_on_every_coalition(alpha):
    # triples, quadruples and pairs far apart: E[pi z_i z_S] = mu_|S + i| against LimeBase on all 2**K
    # coalitions counted N / 2**K times
    k, n_rows = 12, 700
    groups = _layout(4, 3)  # 3 segments of 4 components; segments 0 and 2 are distant
    terms, _ = interaction_terms(groups, within_order=4, distant=True)
    assert {len(t) for t in terms} == {2, 3, 4}
    rng = np.random.default_rng(7)
    b, w, v = rng.normal(size=1), rng.normal(size=(1, k)), rng.normal(size=(1, len(terms)))
    z = _enumerated(k)
    y = b + z @ w.T + np.stack([z[:, list(t)].prod(axis=1) for t in terms], axis=1) @ v.T
    lime = fit_surrogate(z, y, output_names=["y"], component_names=COMP[:k], alpha=alpha,
                         multiplicity=n_rows / 2**k)["y"]
    w_pop, b_pop = population_fit(b, w, v, terms, n_rows=n_rows, alpha=alpha)
    np.testing.assert_allclose(w_pop[0], lime.weights, rtol=0, atol=1e-10)
    assert b_pop[0] == pytest.approx(lime.intercept, abs=1e-10)


def test_exact_for_a_model_with_triples_when_they_are_modelled():
    # f holds the triples inside a segment: with within_order=3 (no ridge) the adjusted estimate is f's
    # population fit on i.i.d. rows; with pairs only it is not
    groups = _layout(5, 4)
    k, n = 20, 400
    terms, kinds = interaction_terms(groups, within_order=3)
    assert kinds.count("higher") == 4 * 10
    rng = np.random.default_rng(3)
    b, w, v = rng.normal(size=1), rng.normal(size=(1, k)), rng.normal(size=(1, len(terms)))

    def f(z):
        z = np.asarray(z, dtype=np.float64)
        return b + z @ w.T + np.stack([z[:, list(t)].prod(axis=1) for t in terms], axis=1) @ v.T

    w_pop, _ = population_fit(b, w, v, terms, n_rows=n, alpha=0.0)
    kw = dict(groups=groups, output_names=["y"], component_names=COMP, alpha=0.0, pair_alpha=1e-9)
    for seed in range(2):
        z = draw_masks(k, n, sampler="uniform", rng=np.random.default_rng(seed))
        exact = fit_adjusted_surrogate(z, f(z), within_order=3, higher_alpha=1e-9, **kw)
        np.testing.assert_allclose(_weights(exact), w_pop[0], rtol=0, atol=1e-6)
        assert exact["y"].info["n_terms"] == len(terms)
        assert exact["y"].info["adjustment"] == "segment-pairs+neighbours+order3"
        assert np.abs(_weights(fit_adjusted_surrogate(z, f(z), **kw)) - w_pop[0]).max() > 1e-3


def _size_law(k):
    """Binomial law of |z| for uniform masks, LIME's kernel per size, and the population Gram of (1, z)."""
    sizes = (np.arange(k)[None, :] < np.arange(k + 1)[:, None]).astype(np.float64)
    law = np.array([comb(k, s) for s in range(k + 1)]) / 2.0**k
    mu = size_moments(k, max_order=2)
    gram = np.full((k + 1, k + 1), mu[2])
    gram[0, :], gram[:, 0], gram[0, 0] = mu[1], mu[1], mu[0]
    gram[np.arange(1, k + 1), np.arange(1, k + 1)] = mu[1]
    return sizes, law, kernel_weights(sizes), gram


def test_leverage_depends_on_the_mask_size_only():
    # docs/explain.md ("Why not sample by mask size or by leverage score"): brute force over all 2**K masks
    k = 8
    z = all_coalitions(k).astype(np.float64)
    zt = np.hstack([np.ones((len(z), 1)), z])
    pi = kernel_weights(z)
    gram = (zt * pi[:, None]).T @ zt / len(z)
    np.testing.assert_allclose(gram, _size_law(k)[3], rtol=1e-12, atol=1e-15)
    lev = pi * np.einsum("ij,jk,ik->i", zt, np.linalg.inv(gram), zt)
    size = z.sum(axis=1).astype(int)
    for s in range(k + 1):
        assert np.ptp(lev[size == s]) < 1e-9 * lev.max()
    assert np.ptp(lev) > 0.1 * lev.max()  # ... and does change with the size


@pytest.mark.parametrize("k, ess, tv", [(50, 0.951, 0.088), (20, 0.894, 0.127)])
def test_kernel_effective_sample_size_and_leverage_law_quoted_in_the_docs(k, ess, tv):
    sizes, law, pi, gram = _size_law(k)
    assert (law @ pi) ** 2 / (law @ pi**2) == pytest.approx(ess, abs=5e-4)
    zt = np.hstack([np.ones((k + 1, 1)), sizes])
    lev_law = law * pi * np.einsum("ij,jk,ik->i", zt, np.linalg.inv(gram), zt)
    lev_law /= lev_law.sum()
    assert 0.5 * np.abs(lev_law - law).sum() == pytest.approx(tv, abs=5e-4)
    assert lev_law @ np.arange(k + 1) > law @ np.arange(k + 1)  # tilted towards larger masks
