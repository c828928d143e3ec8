"""Scoring rules of a pre-registered planted-truth benchmark: detection per clip, rates with Wilson intervals.

Everything here works on tidy frames of attributions (``model, track_id, component, score`` plus grouping
columns) and never runs a model, so the headline numbers recompute from the published per-clip rows.

Rules (the synthetic-v2 suite's ``[detection]`` table):

* **single** truth: a hit when the truth component scores strictly above every other component;
* **shared** truth (two components): a hit when both score strictly above every other component (the top-2
  set equals the truth, no tie at its boundary);
* **distractor** alarm: the distractor component scores strictly above every other component.

Under the ``signed`` ranking the score is the attribution itself, under ``abs`` its magnitude.

Examples
--------
>>> wilson_interval(0, 15)
(0.0, 0.2039...)
"""

from __future__ import annotations

from math import comb
from typing import Sequence

import numpy as np
import pandas as pd

from ..exceptions import ParameterError
from ..validation import check_choice

__all__ = ["RANKINGS", "wilson_interval", "ranked", "detects", "clip_detections", "auc", "chance_rate",
           "rate_row"]

#: Rankings of the detection rules.
RANKINGS = ("signed", "abs")


def wilson_interval(successes: int, n: int, *, level: float = 0.95) -> tuple:
    """Wilson score interval of a binomial proportion (scipy's ``BinomTestResult.proportion_ci``).

    Parameters
    ----------
    successes, n : int
        Successes out of ``n`` trials; ``n = 0`` gives ``(nan, nan)``.
    level : float
        Confidence level.

    Returns
    -------
    (float, float)

    Examples
    --------
    >>> [round(v, 4) for v in wilson_interval(14, 15)]
    [0.7018, 0.9881]
    """
    from scipy.stats import binomtest  # scipy is heavy; only scoring needs it

    k, n = int(successes), int(n)
    if n < 0 or not 0 <= k <= max(n, 0):
        raise ParameterError(f"need 0 <= successes <= n, got successes={successes!r}, n={n!r}.")
    if n == 0:
        return (float("nan"), float("nan"))
    ci = binomtest(k, n).proportion_ci(confidence_level=float(level), method="wilson")
    return (float(ci.low), float(ci.high))


def ranked(scores: np.ndarray, ranking: str) -> np.ndarray:
    """Scores as a ranking reads them: ``signed`` unchanged, ``abs`` their magnitude."""
    check_choice(ranking, "ranking", RANKINGS)
    s = np.asarray(scores, dtype=np.float64)
    return np.abs(s) if ranking == "abs" else s


def detects(scores, names: Sequence[str], truth: Sequence[str], *, ranking: str = "signed") -> bool:
    """Whether the truth components are exactly the strict top-``len(truth)`` of a clip's scores.

    Parameters
    ----------
    scores : array-like, shape (K,)
    names : sequence of str
        Component names, aligned with ``scores``.
    truth : sequence of str
        One component (single rule) or several (shared rule); every one must be in ``names``.
    ranking : {"signed", "abs"}

    Examples
    --------
    >>> detects([0.5, 0.5, 0.1], ["vocals", "piano", "bass"], ["vocals"])   # a tie at the top
    False
    >>> detects([0.5, 0.5, 0.1], ["vocals", "piano", "bass"], ["vocals", "piano"])
    True
    """
    s = ranked(scores, ranking)
    names = list(names)
    missing = [t for t in truth if t not in names]
    if missing or not len(truth):
        raise ParameterError(f"truth components {missing or list(truth)} are not among the components "
                             f"{names}.")
    inside = np.array([n in set(truth) for n in names])
    if inside.all():
        raise ParameterError("the truth covers every component; nothing can rank below it.")
    return bool(s[inside].min() > s[~inside].max())


def clip_detections(attributions: pd.DataFrame, truth: Sequence[str], *, rankings=RANKINGS,
                    keys: Sequence[str] = ("model", "track_id"),
                    distractors: Sequence[str] = ()) -> pd.DataFrame:
    """Per-clip verdicts of one explainer's attributions.

    Parameters
    ----------
    attributions : pandas.DataFrame
        ``*keys, component, score`` (one explainer and seed).
    truth : sequence of str
        Truth components of the task.
    rankings : sequence of str
    keys : sequence of str
        Columns identifying one explanation.
    distractors : sequence of str
        Components whose strict top-1 is a distractor alarm.

    Returns
    -------
    pandas.DataFrame
        ``*keys, ranking, hit, truth_score`` (the summed truth score under the ranking), ``distractor_alarm``
        (False without distractors), ``credit_share`` (``a_0 / (a_0 + a_1)`` of the first two truth components
        on signed scores; NaN for a single truth or a zero sum).
    """
    out = []
    for key, group in attributions.groupby(list(keys), sort=True):
        key = key if isinstance(key, tuple) else (key,)
        names = group["component"].tolist()
        raw = group["score"].to_numpy(dtype=np.float64)
        share = float("nan")
        if len(truth) >= 2:
            a, b = (raw[names.index(t)] for t in truth[:2])
            share = float(a / (a + b)) if (a + b) != 0 else float("nan")
        for ranking in rankings:
            s = ranked(raw, ranking)
            row = dict(zip(keys, key))
            row.update(ranking=ranking, hit=detects(raw, names, truth, ranking=ranking),
                       truth_score=float(sum(s[names.index(t)] for t in truth)),
                       distractor_alarm=any(detects(raw, names, [d], ranking=ranking) for d in distractors),
                       credit_share=share)
            out.append(row)
    return pd.DataFrame(out)


def auc(positive, negative) -> float:
    """P(a positive score > a negative score), ties counting one half (NaN when a side is empty).

    Examples
    --------
    >>> auc([3.0, 2.0], [1.0, 2.0])
    0.875
    """
    p = np.asarray(positive, dtype=np.float64)[:, None]
    n = np.asarray(negative, dtype=np.float64)[None, :]
    if p.size == 0 or n.size == 0:
        return float("nan")
    return float(((p > n).sum() + 0.5 * (p == n).sum()) / (p.size * n.size))


def chance_rate(n_components: int, n_truth: int) -> float:
    """A uniformly random ranking's hit probability: ``1 / C(K, len(truth))`` (1/K for a single truth).

    Examples
    --------
    >>> chance_rate(5, 1), chance_rate(5, 2)
    (0.2, 0.1)
    """
    return 1.0 / comb(int(n_components), int(n_truth))


def rate_row(prefix: str, flags, *, level: float) -> dict:
    """``{prefix: rate, prefix_lo, prefix_hi, prefix_k, prefix_n}`` of a boolean series (Wilson interval)."""
    flags = np.asarray(flags, dtype=bool)
    k, n = int(flags.sum()), int(flags.size)
    lo, hi = wilson_interval(k, n, level=level)
    return {f"{prefix}_rate": (k / n) if n else float("nan"), f"{prefix}_lo": lo, f"{prefix}_hi": hi,
            f"{prefix}_k": k, f"{prefix}_n": n}
