"""Analytic models and small explanations shared by the metric truth tests (no tests in this module).

* :func:`linear_setup` -- ``f(x) = V x``, linear in the waveform, so ``f(sum_k z_k c_k) = sum_k z_k f(c_k)``:
  the true effect of component k is ``e_k = f(c_k)`` and ``f(all off) = 0``.
* :func:`tone_stems` / :func:`tone_model` -- stems are pure tones at distinct frequencies and the model reads
  each tone's amplitude (projection on sine/cosine): ``f = sum_s w_s amp_s + c``. With a large ``w_vocals``
  the model has a planted vocal shortcut; with ``w_vocals = 0`` it is clean.
"""

import numpy as np

from mer_audiolime.explain import explain
from mer_audiolime.models import CallablePredictor

from explain_models import SR, linear_predictor, make_stems

STEMS = ("vocals", "drums", "bass", "piano", "other")
FREQS = {"vocals": 440.0, "drums": 1250.0, "bass": 110.0, "piano": 660.0, "other": 2000.0}


def mix_of(stems):
    return np.sum(list(stems.values()), axis=0)


def linear_setup(
    seed=0, *, seconds=1.0, segments=1, num_samples=1000, alpha=1.0, explain_seed=0, names=STEMS
):
    """(explanation, model, true effects (K, T)) for the waveform-linear model."""
    rng = np.random.default_rng(seed)
    stems = make_stems(rng, seconds=seconds, names=names)
    mix = mix_of(stems)
    model, v = linear_predictor(rng, length=mix.shape[1])
    exp = explain(
        mix,
        sr=SR,
        model=model,
        stems=stems,
        segments=segments,
        num_samples=num_samples,
        seed=explain_seed,
        alpha=alpha,
        show_progress=False,
    )
    true = exp.components.waveforms[:, 0, :].astype(np.float64) @ v.T
    return exp, model, true


def tone_stems(rng, *, seconds=0.5, sr=SR, present=STEMS):
    t = np.arange(int(seconds * sr)) / sr
    out = {}
    for name in STEMS:
        amp = rng.uniform(0.2, 1.0) if name in present else 0.0
        out[name] = (amp * np.sin(2 * np.pi * FREQS[name] * t + rng.uniform(0, 2 * np.pi)))[None].astype(
            np.float32
        )
    return out


def tone_model(weights, *, offset=0.0, sr=SR, name="tones"):
    """``valence = offset + sum_s weights[s] * amplitude of stem s's tone``; ``arousal`` = total amplitude."""
    w = np.array([weights.get(s, 0.0) for s in STEMS])

    def fn(batch):
        x = batch[:, 0, :].astype(np.float64)
        t = np.arange(x.shape[1]) / sr
        amps = []
        for s in STEMS:
            c, si = np.cos(2 * np.pi * FREQS[s] * t), np.sin(2 * np.pi * FREQS[s] * t)
            amps.append(2.0 / x.shape[1] * np.hypot(x @ c, x @ si))
        amps = np.stack(amps, axis=1)
        return np.stack([offset + amps @ w, amps.sum(axis=1)], axis=1)

    return CallablePredictor(fn, sample_rate=sr, output_names=["valence", "arousal"], name=name)


def explain_tones(stems, model, *, seed=0, alpha=1.0):
    return explain(
        mix_of(stems),
        sr=SR,
        model=model,
        stems=stems,
        num_samples=64,
        seed=seed,
        alpha=alpha,
        show_progress=False,
    )
