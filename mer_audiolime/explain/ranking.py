"""Ranking components by an attribution: by size whatever the sign (the default everywhere a top-k is listed,
played or exported), or by signed weight (audioLIME's ``absolute_feature_sort=False``), and the largest
positive and negative components."""

from __future__ import annotations

import numpy as np

__all__ = ["ranked", "signed_lists", "rankable"]


def ranked(weights, k: int, *, absolute_feature_sort: bool = True) -> np.ndarray:
    """Indices of the ``k`` components with the largest ``|weight|`` (``absolute_feature_sort=True``, the
    default) or the largest signed weight (``False``: audioLIME's default ordering), ties broken by index.

    Parameters
    ----------
    weights : array-like, shape (K,)
    k : int
        At most this many (fewer when K < k).
    absolute_feature_sort : bool

    Returns
    -------
    np.ndarray of int, shape (min(k, K),)

    Examples
    --------
    >>> ranked([0.2, -1.0, 0.5], 2).tolist()
    [1, 2]
    >>> ranked([0.2, -1.0, 0.5], 2, absolute_feature_sort=False).tolist()
    [2, 0]
    """
    w = np.asarray(weights, dtype=float)
    key = -np.abs(w) if absolute_feature_sort else -w
    return np.argsort(key, kind="stable")[: min(int(k), w.size)]


def signed_lists(weights, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``(positive, negative)``: up to ``k`` indices of the largest positive weights (descending) and of the
    most negative ones (ascending); zero weights are in neither.

    Examples
    --------
    >>> [a.tolist() for a in signed_lists([0.2, -1.0, 0.5, 0.0, -0.1], 2)]
    [[2, 0], [1, 4]]
    """
    w = np.asarray(weights, dtype=float)
    pos = [i for i in np.argsort(-w, kind="stable") if w[i] > 0][:k]
    neg = [i for i in np.argsort(w, kind="stable") if w[i] < 0][:k]
    return np.asarray(pos, dtype=int), np.asarray(neg, dtype=int)


def rankable(weights) -> bool:
    """Whether weights can be ranked at all: False when they are all equal (e.g. all zero for an output that
    does not change), where any order would be arbitrary.

    Examples
    --------
    >>> rankable([0.0, 0.0, 0.0]), rankable([0.1, 0.0])
    (False, True)
    """
    w = np.asarray(weights, dtype=np.float64)
    return bool(w.size) and bool(np.all(np.isfinite(w))) and float(np.ptp(w)) > 0.0
