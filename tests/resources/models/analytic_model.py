"""A transparent predictor for CLI tests: three signal descriptors as 'mid-level' outputs and a linear
emotion head on them (used as ``tests/resources/models/analytic_model.py:build``)."""

import numpy as np

from mer_audiolime.models import CallablePredictor

WEIGHTS = np.array([[0.8, -0.3, 0.5], [-0.2, 0.9, 0.1]])


def _midlevel(batch):
    x = batch[:, 0, :].astype(np.float64)
    rms = np.sqrt(np.mean(x**2, axis=1))
    peak = np.max(np.abs(x), axis=1)
    bright = np.sqrt(np.mean(np.diff(x, axis=1) ** 2, axis=1))
    return np.stack([rms, peak, bright], axis=1)


def build(sample_rate=22050):
    def fn(batch):
        m = _midlevel(batch)
        return np.concatenate([m, m @ WEIGHTS.T], axis=1)

    mids, emos = ["loudness", "peak", "brightness"], ["valence", "arousal"]
    return CallablePredictor(fn, sample_rate=sample_rate, output_names=mids + emos, midlevel_names=mids,
                             emotion_names=emos, emotion_weights=WEIGHTS, name="analytic")


def build_slow(delay=0.1):
    """The same model with a delay per call, so a test can kill an evaluation mid-way."""
    import time

    inner = build()
    fn = inner.fn

    def slow(batch):
        time.sleep(delay)
        return fn(batch)

    inner.fn = slow
    return inner


def build_failing_on_short():
    """Raises on inputs shorter than 2.5 s: one way to make chosen tracks fail inside a run."""
    inner = build()
    fn = inner.fn

    def picky(batch):
        if batch.shape[-1] < int(2.5 * 22050):
            raise RuntimeError("this model needs at least 2.5 s of audio")
        return fn(batch)

    inner.fn = picky
    return inner


def build_counting():
    """The same model counting the inputs it is called on (``predictor.calls[0]``), so a test can assert that
    a bad run was refused before any model call."""
    inner = build()
    fn = inner.fn
    inner.calls = [0]

    def counted(batch):
        inner.calls[0] += len(batch)
        return fn(batch)

    inner.fn = counted
    return inner


def build_constant():
    """Outputs that never change: nothing to attribute."""
    return CallablePredictor(lambda batch: np.tile([0.25, -0.5], (len(batch), 1)), sample_rate=22050,
                             output_names=["valence", "arousal"], name="constant")
