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
    keys = list(keys)
    wide = attributions.set_index(keys + ["component"])["score"].unstack("component")
    names = list(wide.columns)
    missing = [t for t in list(truth) + list(distractors) if t not in names]
    if missing:
        raise ParameterError(f"components {missing} are not among the attributed components {names}.")
    raw = wide.to_numpy(dtype=np.float64)
    t_idx = [names.index(t) for t in truth]
    if np.isnan(raw[:, t_idx]).any():
        raise ParameterError(f"some explanations have no score for a truth component {list(truth)}.")
    share = np.full(len(raw), np.nan)
    if len(t_idx) >= 2:
        a, b = raw[:, t_idx[0]], raw[:, t_idx[1]]
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(a + b != 0, a / (a + b), np.nan)
    frames = []
    for ranking in rankings:
        s = ranked(raw, ranking)
        present = ~np.isnan(s)  # a component an explanation does not have (e.g. no residual) ranks nowhere
        inside = np.zeros(len(names), dtype=bool)
        inside[t_idx] = True
        others = np.where(present & ~inside, s, -np.inf)
        if not np.isfinite(others.max(axis=1)).all():
            raise ParameterError("the truth covers every component of an explanation; nothing ranks "
                                 "below it.")
        hit = s[:, inside].min(axis=1) > others.max(axis=1)
        alarm = np.zeros(len(raw), dtype=bool)
        for d in distractors:
            j = names.index(d)
            rest = np.where(present, s, -np.inf)
            rest[:, j] = -np.inf
            alarm |= present[:, j] & (s[:, j] > rest.max(axis=1))
        frame = wide.index.to_frame(index=False)
        frame["ranking"] = ranking
        frame["hit"] = hit
        frame["truth_score"] = s[:, inside].sum(axis=1)
        frame["distractor_alarm"] = alarm
        frame["credit_share"] = share
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(keys + ["ranking"], kind="stable").reset_index(drop=True)


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
