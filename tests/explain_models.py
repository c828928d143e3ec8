"""Analytic predictors with known attributions, shared by the explainer tests."""

import numpy as np

from mer_audiolime.models import CallablePredictor

SR = 8000


def make_stems(rng, *, seconds=2.0, names=("vocals", "drums", "bass", "piano", "other"), sr=SR):
    n = int(seconds * sr)
    scales = np.linspace(0.05, 0.3, len(names))
    return {name: (rng.standard_normal(n) * s).astype(np.float32)[None] for name, s in zip(names, scales)}


def linear_predictor(rng, *, length, sr=SR, n_outputs=2):
    """f(x) = V x: linear in the waveform, so f(sum_k z_k c_k) = sum_k z_k f(c_k) exactly."""
    v = rng.standard_normal((n_outputs, length)).astype(np.float64)

    def fn(batch):
        return batch[:, 0, :].astype(np.float64) @ v.T

    names = [f"y{i}" for i in range(n_outputs)]
    return CallablePredictor(fn, sample_rate=sr, output_names=names), v


def midlevel_predictor(*, sr=SR, weights=None):
    """Non-linear mid-level outputs (RMS, peak, spectral-ish) and a linear emotion head on them."""
    w = np.array([[0.8, -0.3, 0.5], [-0.2, 0.9, 0.1]]) if weights is None else weights

    def midlevel(batch):
        x = batch[:, 0, :].astype(np.float64)
        rms = np.sqrt(np.mean(x**2, axis=1))
        peak = np.max(np.abs(x), axis=1)
        diff = np.sqrt(np.mean(np.diff(x, axis=1) ** 2, axis=1))
        return np.stack([rms, peak, diff], axis=1)

    def fn(batch):
        m = midlevel(batch)
        return np.concatenate([m, m @ w.T], axis=1)

    mids, emos = ["m_rms", "m_peak", "m_bright"], ["valence", "arousal"]
    return CallablePredictor(fn, sample_rate=sr, output_names=mids + emos, midlevel_names=mids,
                             emotion_names=emos, emotion_weights=w)


def slot_stems(n_components, *, slot_seconds=0.1, sr=SR, prefix="s"):
    """Stems that play a constant 1.0 in their own time slot and are silent elsewhere, so a model reading the
    slot means sees exactly which components are on (the game's coalition)."""
    length = int(round(slot_seconds * sr))
    stems = {}
    for i in range(n_components):
        x = np.zeros((1, n_components * length), dtype=np.float32)
        x[0, i * length:(i + 1) * length] = 1.0
        stems[f"{prefix}{i}"] = x
    return stems


def _slot_means(batch, k):
    x = batch[:, 0, :].astype(np.float64)
    return x.reshape(x.shape[0], k, -1).mean(axis=2)


def additive_predictor(effects, *, bias=0.0, sr=SR):
    """f(compose(z)) = bias + z . effects exactly, on :func:`slot_stems` (effect 0: the component is
    ignored)."""
    e = np.asarray(effects, dtype=np.float64)

    def fn(batch):
        return (_slot_means(batch, len(e)) @ e + bias)[:, None]

    return CallablePredictor(fn, sample_rate=sr, output_names=["y"])


def game_predictor(values, *, sr=SR):
    """A cooperative game on :func:`slot_stems`: ``values`` (2**K, T) indexed by the coalition code
    ``sum_k z_k 2**k``; output names y0, y1 ..."""
    table = np.asarray(values, dtype=np.float64)
    table = table[:, None] if table.ndim == 1 else table
    k = int(np.log2(table.shape[0]))

    def fn(batch):
        on = _slot_means(batch, k) > 0.5
        return table[on.astype(np.int64) @ (1 << np.arange(k))]

    return CallablePredictor(fn, sample_rate=sr, output_names=[f"y{i}" for i in range(table.shape[1])])
