"""Perturbation masks and the mask -> prediction cache that every later computation draws from.

Masks are ``Z in {0,1}^(N x K)`` with row 0 all ones (the unperturbed input). When ``2**K <= N`` every
coalition is enumerated once instead of sampling (:func:`enumerates`); otherwise rows are drawn i.i.d.
Bernoulli(0.5) from an explicit ``numpy.random.Generator``. An enumerated coalition stands for its expected
count ``N / 2**K`` among N sampled rows (:func:`expected_multiplicity`), which is how the surrogate weighs it.
Duplicate rows are predicted once.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from ..exceptions import ModelError, ParameterError
from ..validation import check_int
from .samplers import draw_masks

__all__ = ["as_generator", "sample_masks", "all_coalitions", "enumerates", "expected_multiplicity",
           "PredictionCache", "MAX_EXHAUSTIVE_K"]

#: Largest K enumerated exhaustively (2**20 masks); above this sampling is used whatever N is.
MAX_EXHAUSTIVE_K = 20


def as_generator(seed) -> np.random.Generator:
    """An explicit generator from an int seed, a ``SeedSequence`` or an existing ``Generator``."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        raise ParameterError("pass an explicit seed (int) or numpy Generator; runs must be reproducible.")
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer, np.random.SeedSequence)):
        raise ParameterError(f"seed must be an int, a SeedSequence or a numpy Generator, got {seed!r}.")
    return np.random.default_rng(seed)


def enumerates(n_components: int, num_samples: int) -> bool:
    """The default rule: enumerate every coalition when ``2**K <= N`` (and ``K <= MAX_EXHAUSTIVE_K``).

    Examples
    --------
    >>> enumerates(5, 1000), enumerates(10, 1000)
    (True, False)
    """
    k = int(n_components)
    return k <= MAX_EXHAUSTIVE_K and 2**k <= int(num_samples)


def expected_multiplicity(n_components: int, num_samples: int) -> float:
    """``N / 2**K``: how often each coalition appears, in expectation, among N Bernoulli(1/2) rows."""
    return float(num_samples) / float(2 ** int(n_components))


def all_coalitions(n_components: int) -> np.ndarray:
    """All ``2**K`` masks ``(2**K, K)`` uint8, all-ones first, all-zeros last (``itertools.product`` order).

    Examples
    --------
    >>> all_coalitions(2).tolist()
    [[1, 1], [1, 0], [0, 1], [0, 0]]
    """
    k = int(n_components)
    if k > MAX_EXHAUSTIVE_K:
        raise ParameterError(f"exhaustive enumeration of 2**{k} masks is too large; use sampling.")
    codes = (2**k - 1 - np.arange(2**k, dtype=np.int64))[:, None]  # itertools.product((1, 0), repeat=k) order
    return ((codes >> np.arange(k - 1, -1, -1)) & 1).astype(np.uint8)


def sample_masks(n_components: int, num_samples: int, *, rng, exhaustive: bool | None = None,
                 sampler: str = "uniform", groups=None) -> np.ndarray:
    """Draw perturbation masks.

    Parameters
    ----------
    n_components : int
        K.
    num_samples : int
        N (the budget of rows).
    rng : int or np.random.Generator
        Seed or generator (required).
    exhaustive : bool, optional
        Force (True) or forbid (False) enumeration; default: enumerate when ``2**K <= N``.
    sampler : {"uniform", "paired", "orthogonal", "grouped", "grouped-adjusted"}
        Design of the sampled rows (see :mod:`mer_audiolime.explain.samplers`); all converge to the same
        answer as N grows. Ignored when enumerating.
    groups : sequence of int, optional
        Group id (time segment) of each component, for ``grouped`` (see
        :func:`~mer_audiolime.explain.samplers.draw_masks`).

    Returns
    -------
    np.ndarray, shape (N', K), uint8
        Row 0 is all ones. With enumeration ``N' = 2**K`` (all coalitions, all-ones first), else ``N' = N``.

    Examples
    --------
    >>> sample_masks(2, 10, rng=0).tolist()
    [[1, 1], [1, 0], [0, 1], [0, 0]]
    """
    check_int(n_components, "n_components", minimum=1)
    check_int(num_samples, "num_samples", minimum=2)
    k = int(n_components)
    if exhaustive is None:
        exhaustive = enumerates(k, num_samples)
    if exhaustive:
        return all_coalitions(k)
    return draw_masks(k, int(num_samples), sampler=sampler, rng=as_generator(rng), groups=groups)


def _keys(masks: np.ndarray) -> list:
    packed = np.packbits(np.asarray(masks, dtype=np.uint8), axis=1)
    return [row.tobytes() for row in packed]


class PredictionCache:
    """Mask -> model output store for one (track, model, components) triple.

    Every metric that needs ``f(compose(z))`` asks the cache, so a mask is never run through the model twice.
    ``model_calls`` counts the rows actually sent to the model; ``lookups`` every row asked for.

    Parameters
    ----------
    n_components : int
    n_outputs : int
    key : str
        Identity of the (track, model, components) triple; stored with the file and checked on load.
    """

    def __init__(self, n_components: int, n_outputs: int, *, key: str = ""):
        self.n_components = int(n_components)
        self.n_outputs = int(n_outputs)
        self.key = key
        self._store: dict = {}
        self.model_calls = 0
        self.lookups = 0

    def __len__(self) -> int:
        return len(self._store)

    def __contains__(self, mask) -> bool:
        return _keys(np.atleast_2d(mask))[0] in self._store

    def count_missing(self, masks: np.ndarray) -> int:
        """How many distinct rows of ``masks`` the cache does not hold (what predicting them would cost)."""
        z = self._check(masks)
        return len({k for k in _keys(z) if k not in self._store})

    def _check(self, masks: np.ndarray) -> np.ndarray:
        z = np.atleast_2d(np.asarray(masks))
        if z.ndim != 2 or z.shape[1] != self.n_components:
            raise ParameterError(f"masks must have shape (N, {self.n_components}), got {np.shape(masks)}.")
        if not np.isin(z, (0, 1)).all():
            raise ParameterError("masks must be binary (0/1); the cache stores on/off coalitions only.")
        return z.astype(np.uint8)

    def predict(self, masks: np.ndarray, fn, *, batch_size: int = 64, progress=None) -> np.ndarray:
        """Outputs for every row of ``masks``, calling ``fn(unique_new_masks) -> (M, T)`` for unseen rows only.

        Parameters
        ----------
        masks : np.ndarray, shape (N, K)
        fn : callable
            Takes a ``(B, K)`` uint8 batch of masks and returns ``(B, T)`` outputs.
        batch_size : int
            Rows per call of ``fn``.
        progress : tqdm-like, optional
            Updated by the number of rows computed.

        Returns
        -------
        np.ndarray, shape (N, T), float64
        """
        z = self._check(masks)
        keys = _keys(z)
        self.lookups += len(keys)
        todo_idx = {}
        for i, k in enumerate(keys):
            if k not in self._store and k not in todo_idx:
                todo_idx[k] = i
        if todo_idx:
            rows = np.fromiter(todo_idx.values(), dtype=np.int64)
            new = z[rows]
            for start in range(0, len(rows), batch_size):
                chunk = new[start : start + batch_size]
                out = np.asarray(fn(chunk), dtype=np.float64)
                if out.shape != (len(chunk), self.n_outputs):
                    raise ModelError(
                        f"prediction function returned shape {out.shape}, expected ({len(chunk)}, {self.n_outputs})."
                    )
                for j, row_key in enumerate(_keys(chunk)):
                    self._store[row_key] = out[j]
                self.model_calls += len(chunk)
                if progress is not None:
                    progress.update(len(chunk))
        return np.stack([self._store[k] for k in keys]) if keys else np.zeros((0, self.n_outputs))

    def masks_and_outputs(self) -> tuple:
        """All stored masks ``(M, K)`` and outputs ``(M, T)``, in insertion order."""
        if not self._store:
            return np.zeros((0, self.n_components), np.uint8), np.zeros((0, self.n_outputs))
        keys = list(self._store)
        packed = np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), -1)
        masks = np.unpackbits(packed, axis=1)[:, : self.n_components]
        return masks, np.stack([self._store[k] for k in keys])

    def save(self, path) -> None:
        """Write atomically to ``path`` (``.npz``)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        masks, outputs = self.masks_and_outputs()
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, masks=masks, outputs=outputs, key=np.array(self.key),
                         shape=np.array([self.n_components, self.n_outputs]))
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    @classmethod
    def load(cls, path, *, key: str | None = None) -> "PredictionCache":
        """Read a cache written by :meth:`save`; ``key`` (if given) must match the stored identity."""
        with np.load(path, allow_pickle=False) as data:
            k, t = (int(v) for v in data["shape"])
            stored_key = str(data["key"])
            if key is not None and stored_key != key:
                raise ParameterError(
                    f"prediction cache {str(path)!r} belongs to {stored_key!r}, not {key!r}; use a separate file "
                    "per (track, model, components)."
                )
            cache = cls(k, t, key=stored_key)
            for row_key, out in zip(_keys(data["masks"]), data["outputs"]):
                cache._store[row_key] = np.array(out, dtype=np.float64)
        return cache
