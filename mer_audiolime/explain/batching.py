"""Batching of model calls: the memory budget of one call, the batch size that fits it, and the prediction
function that composes masked mixes and runs the model in such batches.

:func:`batch_limit` bounds how many composed inputs (each a full-length mix) are built and run through the
model at once, so that explaining long audio stays within :func:`memory_budget_bytes`;
:func:`component_predict_fn` is the ``masks -> outputs`` function every estimator and metric calls through
the prediction cache.
"""

from __future__ import annotations

import os

import numpy as np

from ..exceptions import ParameterError
from ..models.predictor import predict_batched
from .composition import Components

__all__ = ["memory_budget_bytes", "batch_limit", "MEMORY_BUDGET_MB", "WORKING_MEMORY_FACTOR",
           "component_predict_fn"]

#: Default memory budget (MiB) for one model call: the composed batch plus the model's working memory. Set
#: ``MER_AUDIOLIME_MEMORY_BUDGET_MB`` to change it. Clips of up to about 45 s at 22,050 Hz mono run at the
#: requested batch size (16), so their numbers are those of an unbounded run; longer audio is fed in smaller
#: batches (at least one input at a time).
MEMORY_BUDGET_MB = 768

#: Peak working memory of one forward pass, in multiples of the input's size in bytes, assumed for models that
#: do not declare ``working_memory_factor`` (measured 9.3-10.8 for the zoo's CNN on its optimised inference
#: path, 10 s x 16 to 10 min x 1).
WORKING_MEMORY_FACTOR = 11.0


def memory_budget_bytes() -> int:
    """The memory budget of one model call in bytes (``$MER_AUDIOLIME_MEMORY_BUDGET_MB`` or
    :data:`MEMORY_BUDGET_MB`)."""
    raw = os.environ.get("MER_AUDIOLIME_MEMORY_BUDGET_MB", "")
    try:
        mb = float(raw) if raw.strip() else float(MEMORY_BUDGET_MB)
    except ValueError:
        raise ParameterError(
            f"MER_AUDIOLIME_MEMORY_BUDGET_MB must be a number of MiB, got {raw!r}."
        ) from None
    if not np.isfinite(mb) or mb <= 0:
        raise ParameterError(f"MER_AUDIOLIME_MEMORY_BUDGET_MB must be > 0, got {raw!r}.")
    return int(mb * 2**20)


def batch_limit(shape, *, model=None, requested: int, budget_bytes: int | None = None) -> int:
    """Largest batch (<= ``requested``, >= 1) whose composed inputs and model working memory fit the budget.

    Parameters
    ----------
    shape : tuple
        ``(C, L)`` of one composed input.
    model : Predictor, optional
        Its optional ``working_memory_factor`` (peak working memory of a forward pass in multiples of the
        input bytes) refines the estimate; default :data:`WORKING_MEMORY_FACTOR`.
    requested : int
        The batch size asked for.
    budget_bytes : int, optional
        Default :func:`memory_budget_bytes`.

    Examples
    --------
    >>> batch_limit((1, 22050 * 10), requested=16, budget_bytes=768 * 2**20)
    16
    >>> batch_limit((1, 22050 * 600), requested=16, budget_bytes=768 * 2**20)
    1
    """
    budget = memory_budget_bytes() if budget_bytes is None else int(budget_bytes)
    factor = float(getattr(model, "working_memory_factor", None) or WORKING_MEMORY_FACTOR)
    per_item = 4.0 * float(np.prod(shape)) * (1.0 + factor)
    return int(max(1, min(int(requested), budget // max(per_item, 1.0))))


def component_predict_fn(components: Components, model, *, batch_size: int):
    """A ``masks (B, K) -> outputs (B, T)`` function that composes and runs the model, reusing one buffer.

    At most :func:`batch_limit` inputs are composed and run at once, so the memory of a model call stays
    within the documented budget on long audio; clips of normal length run at ``batch_size``.
    """
    buffers = {}
    limit = batch_limit(components.shape, model=model, requested=batch_size)

    def run(chunk: np.ndarray) -> np.ndarray:
        b = chunk.shape[0]
        buf = buffers.get(b)
        if buf is None:
            buf = buffers[b] = np.empty((b,) + components.shape, dtype=np.float32)
        x = components.compose(chunk, out=buf)
        return predict_batched(model, x, batch_size=batch_size)

    def fn(chunk: np.ndarray) -> np.ndarray:
        if chunk.shape[0] <= limit:
            return run(chunk)
        return np.concatenate([run(chunk[a : a + limit]) for a in range(0, chunk.shape[0], limit)])

    return fn
