"""Truths of the sampling + surrogate: known effects, exhaustive WLS equality, seeds, chain linearity."""

import numpy as np
import pytest
from scipy.stats import spearmanr

from mer_audiolime.explain import explain
from mer_audiolime.explain import fit_surrogate, kernel_weights, sample_masks
from mer_audiolime.explain.components import build_components

from explain_models import SR, linear_predictor, make_stems, midlevel_predictor


def _mix(stems):
    return np.sum(list(stems.values()), axis=0)


def test_linear_model_effects_recovered_k50(rng):
    stems = make_stems(rng, seconds=2.0)
    mix = _mix(stems)
    model, v = linear_predictor(rng, length=mix.shape[1])
    exp = explain(mix, sr=SR, model=model, stems=stems, segments=10, num_samples=1000, seed=0,
                  show_progress=False)
    comps = exp.components
    assert len(comps) == 50 and not comps.residual
    true = comps.waveforms[:, 0, :].astype(np.float64) @ v.T  # (K, T): f(c_k)
    for t, name in enumerate(model.output_names):
        rho = spearmanr(exp.attributions[name].weights, true[:, t]).correlation
        assert rho >= 0.99, (name, rho)


def _weighted_ridge(z, y, w, alpha):
    """Closed-form weighted ridge with unpenalised intercept (centred on weighted means)."""
    zbar = np.average(z, axis=0, weights=w)
    ybar = np.average(y, weights=w)
    zc, yc = z - zbar, y - ybar
    a = zc.T @ (w[:, None] * zc) + alpha * np.eye(z.shape[1])
    beta = np.linalg.solve(a, zc.T @ (w * yc))
    return beta, ybar - zbar @ beta


@pytest.mark.parametrize("alpha", [1.0, 0.0])
@pytest.mark.parametrize("enumeration", ["expected", "plain"])
def test_exhaustive_matches_direct_weighted_solve(rng, alpha, enumeration):
    """Enumerated LIME is the closed-form weighted ridge with penalty alpha * 2**K / N ("expected": every
    coalition counts N / 2**K times) or alpha ("plain": once, audioLIME's exhaustive mode)."""
    stems = make_stems(rng, seconds=1.0)
    mix = _mix(stems)
    model = midlevel_predictor()
    exp = explain(mix, sr=SR, model=model, stems=stems, num_samples=1000, seed=3, alpha=alpha,
                  enumeration=enumeration, show_progress=False)
    assert exp.masks.shape == (32, 5) and exp.settings["exhaustive"]
    assert len(np.unique(exp.masks, axis=0)) == 32
    z = exp.masks.astype(np.float64)
    w = kernel_weights(z, kernel_width=0.25)
    penalty = alpha * 32 / 1000 if enumeration == "expected" else alpha
    assert exp.settings["effective_alpha"] == pytest.approx(penalty, rel=1e-12)
    for t, name in enumerate(model.output_names):
        beta, b0 = _weighted_ridge(z, exp.outputs[:, t], w, penalty)
        np.testing.assert_allclose(exp.attributions[name].weights, beta, rtol=0, atol=1e-6)
        assert abs(exp.attributions[name].intercept - b0) < 1e-6


def test_linear_model_exhaustive_wls_is_exact(rng):
    """With alpha=0 and a model linear in the components, WLS returns the true effects exactly."""
    stems = make_stems(rng, seconds=1.0, names=("a", "b", "c", "d"))
    mix = _mix(stems)
    model, v = linear_predictor(rng, length=mix.shape[1], n_outputs=1)
    exp = explain(mix, sr=SR, model=model, stems=stems, num_samples=100, seed=0, alpha=0.0, show_progress=False)
    true = exp.components.waveforms[:, 0, :].astype(np.float64) @ v[0]
    np.testing.assert_allclose(exp.attributions["y0"].weights, true, rtol=1e-6, atol=1e-6)
    assert exp.attributions["y0"].score == pytest.approx(1.0, abs=1e-9)


def test_chain_equals_lime_on_emotions(rng):
    """LIME on e = W m equals W @ (LIME on m) on the same samples (linearity of the ridge solution)."""
    stems = make_stems(rng, seconds=1.0)
    mix = _mix(stems)
    model = midlevel_predictor()
    exp = explain(mix, sr=SR, model=model, stems=stems, segments=3, num_samples=400, seed=5,
                  show_progress=False)
    for emo in model.emotion_names:
        direct, chained = exp.attributions[emo], exp.chain(emo)
        np.testing.assert_allclose(chained.weights, direct.weights, rtol=1e-9, atol=1e-12)
        assert chained.intercept == pytest.approx(direct.intercept, abs=1e-12)
        assert chained.score == pytest.approx(direct.score, abs=1e-9)
        assert chained.local_prediction == pytest.approx(direct.local_prediction, abs=1e-9)
    effects = exp.midlevel_effects
    for emo in model.emotion_names:
        assert effects.loc[emo].sum() == pytest.approx(exp.predictions[emo], rel=1e-9)


def test_same_seed_same_weights_different_seed_different_masks(rng):
    stems = make_stems(rng, seconds=1.0)
    mix = _mix(stems)
    model = midlevel_predictor()
    kw = dict(sr=SR, model=model, stems=stems, segments=4, num_samples=200, show_progress=False)
    a = explain(mix, seed=11, **kw)
    b = explain(mix, seed=11, **kw)
    c = explain(mix, seed=12, **kw)
    np.testing.assert_array_equal(a.masks, b.masks)
    for name in model.output_names:
        np.testing.assert_array_equal(a.attributions[name].weights, b.attributions[name].weights)
    assert not np.array_equal(a.masks, c.masks)
    assert (a.masks[0] == 1).all() and (c.masks[0] == 1).all()


def test_duplicate_masks_predicted_once(rng):
    masks = np.array([[1, 1], [1, 0], [1, 0], [0, 1], [1, 0]], dtype=np.uint8)
    from mer_audiolime.explain import PredictionCache

    calls = []

    def fn(chunk):
        calls.append(chunk.copy())
        return chunk.astype(float) @ np.array([[2.0], [3.0]])

    cache = PredictionCache(2, 1)
    out = cache.predict(masks, fn, batch_size=2)
    np.testing.assert_array_equal(out[:, 0], [5, 2, 2, 3, 2])
    assert cache.model_calls == 3 and sum(len(c) for c in calls) == 3
    cache.predict(masks[:2], fn)
    assert cache.model_calls == 3  # nothing new


def test_prediction_cache_round_trip(tmp_path, rng):
    from mer_audiolime.explain import PredictionCache

    cache = PredictionCache(3, 2, key="track|model")
    masks = sample_masks(3, 10, rng=0)
    cache.predict(masks, lambda z: np.stack([z.sum(1), z[:, 0]], 1).astype(float))
    cache.save(tmp_path / "c.npz")
    loaded = PredictionCache.load(tmp_path / "c.npz", key="track|model")
    m1, o1 = cache.masks_and_outputs()
    m2, o2 = loaded.masks_and_outputs()
    np.testing.assert_array_equal(m1, m2)
    np.testing.assert_array_equal(o1, o2)
    from mer_audiolime.exceptions import ParameterError

    with pytest.raises(ParameterError, match="belongs to"):
        PredictionCache.load(tmp_path / "c.npz", key="other")


def test_sample_masks_shapes():
    z = sample_masks(6, 50, rng=1)
    assert z.shape == (50, 6) and (z[0] == 1).all()
    z = sample_masks(5, 32, rng=1)
    assert z.shape == (32, 5) and len(np.unique(z, axis=0)) == 32 and (z[0] == 1).all()
    z = sample_masks(5, 32, rng=1, exhaustive=False)
    assert z.shape == (32, 5)


def test_classification_mode_explains_predicted_class(rng):
    stems = make_stems(rng, seconds=1.0, names=("loud", "quiet"))
    stems["loud"] *= 10  # rms 0.5
    stems["quiet"] *= 0.1  # rms 0.03
    mix = _mix(stems)
    from mer_audiolime.models import CallablePredictor

    def probs(batch):
        e = np.log(np.mean(batch[:, 0, :] ** 2, axis=1) + 1e-9)
        c = np.log(0.1**2)  # energetic above an rms of 0.1
        logits = np.stack([e - c, c - e], axis=1)
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        return p / p.sum(axis=1, keepdims=True)

    model = CallablePredictor(probs, sample_rate=SR, output_names=["energetic", "calm"])
    exp = explain(mix, sr=SR, model=model, stems=stems, num_samples=100, seed=0, mode="classification",
                  show_progress=False)
    assert list(exp.attributions) == ["energetic"]
    att = exp.attributions["energetic"]
    assert att.top(1) == ["loud"]


def test_surrogate_never_sees_audio():
    """fit_surrogate works on arrays alone (the surrogate module imports no audio code)."""
    import mer_audiolime.explain.surrogate as s

    src = open(s.__file__).read()
    assert "audio" not in [line.split()[1] for line in src.splitlines() if line.startswith(("import ", "from "))]
    z = np.array([[1, 1], [1, 0], [0, 1], [0, 0]])
    att = fit_surrogate(z, z @ np.array([[1.0], [2.0]]), output_names=["y"], component_names=["a", "b"],
                        alpha=0.0)["y"]
    np.testing.assert_allclose(att.weights, [1.0, 2.0], atol=1e-12)
