"""Shared tools of the bias metrics: the tidy frames they read and the statistical tests they run.

:func:`stem_frame` and :func:`effect_frame` turn explanations into tidy rows, :func:`top_stems` reads the top
stem per group, :func:`require_columns` checks a metric's input frame. Tests between a subgroup and the rest
use the two-sided Mann-Whitney U test (:func:`mann_whitney`, ``scipy.stats.mannwhitneyu``) and every family of
tests is corrected with Benjamini-Hochberg (:func:`benjamini_hochberg`, implemented here: statsmodels is not a
dependency).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ...exceptions import EvaluationError, ParameterError

__all__ = ["benjamini_hochberg", "mann_whitney", "require_columns", "stem_frame", "effect_frame", "top_stems"]


def benjamini_hochberg(pvalues) -> np.ndarray:
    """Benjamini-Hochberg (1995) adjusted p-values (q-values), in the input order.

    With the ``m`` p-values sorted ascending, ``q_(i) = min_{j >= i} min(1, m p_(j) / j)``; rejecting
    ``q <= alpha`` controls the false discovery rate at ``alpha`` for independent tests.

    Examples
    --------
    >>> benjamini_hochberg([0.01, 0.04, 0.03, 0.20]).round(4).tolist()
    [0.04, 0.0533, 0.0533, 0.2]
    """
    p = np.asarray(pvalues, dtype=np.float64).ravel()
    if p.size == 0:
        return p
    if not np.all(np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        raise EvaluationError(f"p-values must lie in [0, 1], got {p.tolist()}.")
    order = np.argsort(p, kind="stable")
    ranked = p[order] * p.size / np.arange(1, p.size + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1].clip(max=1.0)
    out = np.empty_like(q)
    out[order] = q
    return out


def mann_whitney(x, y) -> dict:
    """Two-sided Mann-Whitney U of ``x`` vs ``y``: ``{"u", "p_value", "auc"}`` with ``auc = U / (n_x n_y)``
    (probability that a value of ``x`` exceeds one of ``y``, ties counted 1/2)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.size == 0 or y.size == 0:
        raise EvaluationError("Mann-Whitney U needs observations in both groups.")
    res = stats.mannwhitneyu(x, y, alternative="two-sided")
    p = float(res.pvalue) if np.isfinite(res.pvalue) else 1.0  # all values tied: no evidence of a shift
    return {"u": float(res.statistic), "p_value": p, "auc": float(res.statistic) / (x.size * y.size)}


def require_columns(frame: pd.DataFrame, columns, what: str) -> pd.DataFrame:
    """``frame`` itself, after checking that it is a DataFrame holding every one of ``columns``.

    Parameters
    ----------
    frame : pandas.DataFrame
        The input of a bias metric.
    columns : sequence of str
        Column names the metric reads.
    what : str
        What reads the frame, for the error message (e.g. ``"subgroup error"``).

    Returns
    -------
    pandas.DataFrame
        ``frame``, unchanged.

    Raises
    ------
    ParameterError
        ``frame`` is not a DataFrame, or lacks some of ``columns`` (the message names them).

    Examples
    --------
    >>> require_columns(pd.DataFrame({"a": [1]}), ["a"], "a test").shape
    (1, 1)
    """
    if not isinstance(frame, pd.DataFrame):
        raise ParameterError(f"{what} expects a pandas DataFrame, got {type(frame).__name__}.")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ParameterError(f"{what} needs column(s) {missing}; the frame has {list(frame.columns)}.")
    return frame


def stem_frame(explanation, *, target: str, source: str | None = None, **labels) -> pd.DataFrame:
    """Stem-level attribution of ``target`` (``explanation.attribution(target, source)``): component weights
    summed over segments.

    Returns one row per stem: ``stem, weight, target, source`` plus the given ``labels`` (e.g.
    ``track_id=..., model=..., biased=True, genre=...``) as constant columns.
    """
    att = explanation.attribution(target, source)
    frame = pd.DataFrame({"stem": explanation.components.stems, "weight": att.weights})
    frame = frame.groupby("stem", sort=False, as_index=False)["weight"].sum()
    return frame.assign(target=target, source=att.info["source"], **labels)


def effect_frame(explanation, *, emotion: str, **labels) -> pd.DataFrame:
    """Mid-level effects ``W[emotion, j] m_j`` of one explanation as rows ``feature, effect`` (+ labels)."""
    if explanation.midlevel_effects is None:
        raise ParameterError("the explanation has no mid-level effects (the model declares no linear head).")
    row = explanation.midlevel_effects.loc[emotion]
    return pd.DataFrame({"feature": row.index, "effect": row.to_numpy()}).assign(emotion=emotion, **labels)


def top_stems(frame: pd.DataFrame, *, keys, by: str = "abs") -> pd.DataFrame:
    """Per group of ``keys`` (e.g. track): the top stem by ``|weight|`` (``by="abs"``) or signed weight, and
    whether it is unique (``tie`` is True when another stem reaches the same score)."""
    if by not in ("abs", "weight"):
        raise ParameterError(f"by must be 'abs' or 'weight', got {by!r}.")
    f = frame.assign(_score=frame["weight"].abs() if by == "abs" else frame["weight"])
    rows = []
    for key, g in f.groupby(list(keys), sort=False):
        best = g["_score"].max()
        winners = g.loc[g["_score"] == best, "stem"].tolist()
        rows.append(
            {
                **dict(zip(keys, key if isinstance(key, tuple) else (key,))),
                "top_stem": winners[0],
                "tie": len(winners) > 1,
            }
        )
    return pd.DataFrame(rows)
