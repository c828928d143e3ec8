"""Truths of the estimators: enumeration equals LIME on the expected sampled design, Shapley axioms on games
computed by hand, occlusion, the chain identity for every estimator, and what each estimator costs."""

from functools import partial

import numpy as np
import pytest
from sklearn.metrics import pairwise_distances

from mer_audiolime.explain import explain
from mer_audiolime.explain import all_coalitions, exact_shapley, sampled_shapley
from mer_audiolime.explain.estimators import (DIRECT_SOURCES, permutation_masks, seed_dependent,
                                              shapley_permutations)
from mer_audiolime.explain.surrogate import kernel
from mer_audiolime.exceptions import ParameterError

from explain_models import SR, additive_predictor, game_predictor, make_stems, midlevel_predictor, slot_stems

EFFECTS = [0.0, 0.5, -0.3, 0.4, 0.2]  # the first stem is ignored by the model


def _explain_slots(model, k, **kw):
    stems = slot_stems(k)
    mix = np.sum(list(stems.values()), axis=0)
    kw.setdefault("num_samples", 1000)
    kw.setdefault("seed", 0)
    return explain(mix, sr=SR, model=model, stems=stems, show_progress=False, **kw)


def _audiolime_lime(data, labels):
    """LIME exactly as audioLIME's LimeAudioExplainer calls it: LimeBase with its exponential kernel of width
    0.25, cosine distances to row 0, feature_selection="auto", num_features=100000, default regressor
    (Ridge(alpha=1))."""
    from lime.lime_base import LimeBase

    base = LimeBase(partial(kernel, kernel_width=0.25), verbose=False, random_state=0)
    distances = pairwise_distances(data, data[0].reshape(1, -1), metric="cosine").ravel()
    intercept, exp, score, local = base.explain_instance_with_data(
        data, labels, distances, 0, 100000, feature_selection="auto")
    w = np.zeros(data.shape[1])
    for f, c in exp:
        w[int(f)] = c
    return w, float(intercept), float(score)


# --- enumeration = expected sampling ---------------------------------------------------------------------

@pytest.mark.parametrize("k, n", [(5, 1024), (3, 1000)])
def test_enumerated_default_equals_lime_on_the_repeated_design(k, n):
    """The enumerated default is LIME on the N-row design in which each coalition appears N / 2**K times."""
    model = additive_predictor(EFFECTS[:k], bias=0.1)
    exp = _explain_slots(model, k, num_samples=n)
    assert exp.settings["exhaustive"] and exp.masks.shape == (2**k, k)
    repeated = np.repeat(all_coalitions(k), n // 2**k, axis=0).astype(np.float64)
    assert repeated.shape == (n, k) and (repeated[0] == 1).all()
    labels = repeated @ np.asarray(EFFECTS[:k]) + 0.1
    w, b, score = _audiolime_lime(repeated, labels[:, None])
    att = exp.attribution("y")
    np.testing.assert_allclose(att.weights, w, rtol=0, atol=1e-9)
    assert att.intercept == pytest.approx(b, abs=1e-9)
    assert att.score == pytest.approx(score, abs=1e-9)


def test_plain_enumeration_is_audiolime_exhaustive_mode():
    model = additive_predictor(EFFECTS, bias=0.1)
    exp = _explain_slots(model, 5, enumeration="plain")
    data = all_coalitions(5).astype(np.float64)  # audioLIME: num_samples="exhaustive", each coalition once
    w, b, _ = _audiolime_lime(data, (data @ np.asarray(EFFECTS) + 0.1)[:, None])
    np.testing.assert_allclose(exp.attribution("y").weights, w, rtol=0, atol=1e-9)


def test_an_ignored_stem_gets_almost_nothing():
    """On an additive model the stem the model ignores gets |w| <= 2e-3 max|w| (plain enumeration: ~3e-2)."""
    model = additive_predictor(EFFECTS, bias=0.1)
    w = _explain_slots(model, 5).attribution("y").weights
    assert abs(w[0]) <= 2e-3 * np.abs(w).max()
    assert np.sign(w[1:]).tolist() == np.sign(EFFECTS[1:]).tolist()
    plain = _explain_slots(model, 5, enumeration="plain").attribution("y").weights
    assert abs(plain[0]) > 10 * abs(w[0])


def test_sampled_lime_approaches_the_expected_enumeration():
    """Sampled LIME at N rows agrees with the enumerated default at the same N much better than with plain
    enumeration, and the gap shrinks as N grows (the enumerated answer is its large-sample limit)."""
    model = game_predictor(np.random.default_rng(0).standard_normal(32))  # a non-additive game
    errors = {}
    for n in (1000, 16000):
        ref = _explain_slots(model, 5, num_samples=n).attribution("y0").weights
        plain = _explain_slots(model, 5, num_samples=n, enumeration="plain").attribution("y0").weights
        sampled = [_explain_slots(model, 5, num_samples=n, exhaustive=False, seed=s).attribution("y0").weights
                   for s in range(8)]
        errors[n] = np.mean([np.linalg.norm(w - ref) for w in sampled])
        assert errors[n] < 0.5 * np.mean([np.linalg.norm(w - plain) for w in sampled])
    assert errors[16000] < 0.5 * errors[1000]


# --- Shapley values on games computed by hand -------------------------------------------------------------

def _values(k, v):
    """Coalition table (2**K,) from a dict {frozenset of players: value} (missing = 0)."""
    out = np.zeros(2**k)
    for code in range(2**k):
        out[code] = v.get(frozenset(i for i in range(k) if code >> i & 1), 0.0)
    return out


def _game_masks(k):
    codes = np.arange(2**k)
    return ((codes[:, None] >> np.arange(k)) & 1).astype(np.uint8)


GAME3 = {frozenset({0}): 1, frozenset({1}): 2, frozenset({0, 1}): 4, frozenset({0, 2}): 3,
         frozenset({1, 2}): 2, frozenset({0, 1, 2}): 6}
# by hand, averaging marginal contributions over the 6 orders: phi = (15/6, 15/6, 6/6)
GAME3_PHI = [2.5, 2.5, 1.0]


def test_exact_shapley_of_a_three_player_game_by_hand():
    phi = exact_shapley(_game_masks(3), _values(3, GAME3))
    np.testing.assert_allclose(phi, GAME3_PHI, rtol=0, atol=1e-12)


def test_shapley_axioms_symmetry_dummy_additivity():
    majority = {s: 1.0 for s in map(frozenset, ([0, 1], [0, 2], [1, 2], [0, 1, 2]))}
    np.testing.assert_allclose(exact_shapley(_game_masks(3), _values(3, majority)), [1 / 3] * 3, atol=1e-12)
    # player 3 is a dummy: v(S) = GAME3(S without 3), so phi_3 = 0 and the others keep their values
    dummy = {s | extra: v for s, v in GAME3.items() for extra in (frozenset(), frozenset({3}))}
    phi4 = exact_shapley(_game_masks(4), _values(4, dummy))
    assert phi4[3] == 0.0
    np.testing.assert_allclose(phi4[:3], GAME3_PHI, atol=1e-12)
    # symmetric players 0 and 1 of a 4-player game (v depends on them only through their count)
    rng = np.random.default_rng(3)
    by_count = rng.standard_normal((3, 4))
    sym = _values(4, {frozenset(s): by_count[len({0, 1} & set(s)), int(2 in s) + 2 * int(3 in s)]
                      for s in map(lambda c: [i for i in range(4) if c >> i & 1], range(16))})
    phi = exact_shapley(_game_masks(4), sym)
    assert phi[0] == pytest.approx(phi[1], abs=1e-12)
    # additivity (linearity in the game)
    u, w = rng.standard_normal(16), rng.standard_normal(16)
    z4 = _game_masks(4)
    np.testing.assert_allclose(exact_shapley(z4, u + 2 * w), exact_shapley(z4, u) + 2 * exact_shapley(z4, w),
                               atol=1e-12)


def test_efficiency_to_1e9_exact_and_sampled():
    rng = np.random.default_rng(5)
    for k in (3, 4, 8):
        v = rng.standard_normal((2**k, 2)) * 10
        phi = exact_shapley(_game_masks(k), v)
        np.testing.assert_allclose(phi.sum(axis=0), v[-1] - v[0], rtol=0, atol=1e-9)
        z = permutation_masks(shapley_permutations(k, 60, rng=1))
        codes = z.astype(np.int64) @ (1 << np.arange(k))
        est = sampled_shapley(z, v[codes])
        np.testing.assert_allclose(est.sum(axis=0), v[-1] - v[0], rtol=0, atol=1e-9)


def test_sampled_shapley_is_unbiased_seeded_and_exact_for_dummies():
    rng = np.random.default_rng(7)
    k = 6
    v = rng.standard_normal(2**k)
    v = v[np.arange(2**k) & ~(1 << 5)]  # player 5 is a dummy
    exact = exact_shapley(_game_masks(k), v)
    draws = []
    for seed in range(200):
        z = permutation_masks(shapley_permutations(k, 30, rng=seed))
        draws.append(sampled_shapley(z, v[z.astype(np.int64) @ (1 << np.arange(k))]))
        assert draws[-1][5] == 0.0
    draws = np.array(draws)
    se = draws.std(axis=0, ddof=1) / np.sqrt(len(draws))
    assert np.all(np.abs(draws.mean(axis=0) - exact) <= 4 * se + 1e-12)
    z0 = permutation_masks(shapley_permutations(k, 30, rng=0))
    np.testing.assert_array_equal(sampled_shapley(z0, v[z0.astype(np.int64) @ (1 << np.arange(k))]), draws[0])


def test_explain_with_shapley_and_occlusion_on_a_hand_game():
    """Through the whole pipeline (audio -> components -> cache): the hand game's values."""
    model = game_predictor(_values(3, GAME3))
    exp = _explain_slots(model, 3, estimator="shapley")
    assert exp.source == "shapley"
    np.testing.assert_allclose(exp.attribution("y0").weights, GAME3_PHI, atol=1e-12)
    a = exp.attribution("y0")
    assert a.intercept == 0.0 and a.local_prediction == pytest.approx(6.0, abs=1e-12)
    # leave-one-out f(all) - f(all - k) and add-one-in f({k}) - f(none), by hand
    np.testing.assert_allclose(exp.attribution("y0", "leave_one_out").weights, [6 - 2, 6 - 3, 6 - 4], atol=0)
    np.testing.assert_allclose(exp.attribution("y0", "add_one_in").weights, [1, 2, 0], atol=0)
    occ = _explain_slots(model, 3, estimator="occlusion", occlusion="add_one_in")
    np.testing.assert_array_equal(occ.attribution("y0").weights, [1, 2, 0])


# --- one cache, every estimator; costs ------------------------------------------------------------------

def test_every_estimator_from_one_enumerated_explanation_costs_no_model_call():
    model = game_predictor(np.random.default_rng(0).standard_normal(32))
    exp = _explain_slots(model, 5)
    calls = exp.cache.model_calls
    got = exp.all_attributions("y0")
    assert set(got) == set(DIRECT_SOURCES)
    assert exp.cache.model_calls == calls
    assert all(np.isfinite(a.score) for a in got.values())
    np.testing.assert_allclose(got["shapley"].weights.sum(), exp.predictions["y0"] - exp.outputs[-1, 0],
                               atol=1e-9)


def test_model_calls_per_estimator():
    """Enumerated (K=5): every estimator sends each needed coalition once; sampled (K=20, N=1000): LIME <= N,
    sampled Shapley <= P (K - 1) + 2, occlusion K + 1 / K + 2."""
    model = additive_predictor(EFFECTS, bias=0.1)
    calls = {}
    for est, occ in (("lime", "leave_one_out"), ("shapley", "leave_one_out"), ("occlusion", "leave_one_out"),
                     ("occlusion", "add_one_in")):
        exp = _explain_slots(model, 5, estimator=est, occlusion=occ)
        calls[exp.source] = exp.timings["model_calls"]
    assert calls == {"lime": 32, "shapley": 32, "leave_one_out": 6, "add_one_in": 7}
    big = additive_predictor(np.linspace(-1, 1, 20))
    for est, limit in (("lime", 1000), ("shapley", 2 * (998 // 38) * 19 + 2), ("occlusion", 21)):
        exp = _explain_slots(big, 20, estimator=est)
        assert not exp.settings["exhaustive"]
        assert exp.timings["model_calls"] <= limit
    assert exp.timings["model_calls"] == 21


def test_sources_needing_new_masks_name_the_fix_and_compute_sources_runs_them():
    model = additive_predictor(np.linspace(-1, 1, 12))
    exp = _explain_slots(model, 12, num_samples=300)
    with pytest.raises(ParameterError, match="compute_sources"):
        exp.attribution("y", "leave_one_out")
    before = exp.cache.model_calls
    exp.compute_sources(["leave_one_out", "shapley_sampled"], model=model)
    assert exp.cache.model_calls > before
    np.testing.assert_allclose(exp.attribution("y", "leave_one_out").weights, np.linspace(-1, 1, 12),
                               atol=1e-12)
    np.testing.assert_allclose(exp.attribution("y", "shapley_sampled").weights, np.linspace(-1, 1, 12),
                               atol=1e-12)
    assert np.isnan(exp.attribution("y", "leave_one_out").score)  # 13 masks, reproduced by construction


def test_only_sampled_settings_depend_on_the_seed():
    assert not seed_dependent("lime", n_components=5, num_samples=1000)
    assert seed_dependent("chain:lime", n_components=10, num_samples=1000)
    assert not seed_dependent("shapley", n_components=5, num_samples=1000)
    assert seed_dependent("shapley_sampled", n_components=20, num_samples=1000)
    assert not seed_dependent("leave_one_out", n_components=20, num_samples=1000)
    model = additive_predictor(EFFECTS)
    a, b = (_explain_slots(model, 5, seed=s) for s in (0, 1))
    assert not a.seed_dependent
    np.testing.assert_array_equal(a.attribution("y").weights, b.attribution("y").weights)


# --- the chain is exact for every estimator ---------------------------------------------------------------

@pytest.mark.parametrize("segments, num_samples", [(1, 1000), (3, 400)])
def test_chain_identity_for_every_estimator(rng, segments, num_samples):
    """chain:<source> of an emotion == W @ (<source> of the mid-level features) == <source> on the emotion."""
    stems = make_stems(rng, seconds=1.5)
    mix = np.sum(list(stems.values()), axis=0)
    model = midlevel_predictor()
    w = model.emotion_weights
    exp = explain(mix, sr=SR, model=model, stems=stems, segments=segments, num_samples=num_samples, seed=2,
                  show_progress=False)
    sources = list(DIRECT_SOURCES)
    if not exp.settings["exhaustive"]:
        sources.remove("shapley")  # K = 15: 2**15 coalitions
        exp.compute_sources([s for s in sources if s != "lime"], model=model)
    for source in sources:
        mid = np.stack([exp.attribution(m, source).weights for m in model.midlevel_names])
        for i, emo in enumerate(model.emotion_names):
            chained = exp.attribution(emo, "chain:" + source)
            assert chained.info["source"] == "chain:" + source
            np.testing.assert_allclose(chained.weights, w[i] @ mid, rtol=0, atol=1e-12)
            np.testing.assert_allclose(chained.weights, exp.attribution(emo, source).weights, rtol=1e-9,
                                       atol=1e-12)


def test_default_attribution_rule():
    model = midlevel_predictor()
    stems = make_stems(np.random.default_rng(0), seconds=1.0)
    exp = explain(np.sum(list(stems.values()), axis=0), sr=SR, model=model, stems=stems, show_progress=False)
    assert exp.default_source("valence") == "chain:lime" and exp.default_source("m_rms") == "lime"
    assert exp.attribution("valence") is exp.chain("valence")
    assert exp.attribution("valence", "chain") is exp.chain("valence")
    assert exp.attribution("m_rms") is exp.attributions["m_rms"]
    with pytest.raises(ParameterError, match="unknown source"):
        exp.attribution("valence", "kernelshap")
    frame = exp.to_frame()
    assert set(frame["source"]) == {"lime", "chain:lime"}
