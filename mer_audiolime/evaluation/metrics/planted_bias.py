"""Planted-shortcut scoring on the synthetic suite: does the explainer find the stem a model was trained on?

:class:`PlantedBias` scores stem-level attributions
(:func:`~mer_audiolime.evaluation.metrics.bias_tools.stem_frame` rows) of biased and clean models;
:func:`planted_bias_scores` summarises precomputed per-clip verdicts the same way.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...exceptions import EvaluationError, ParameterError
from ...validation import check_int
from .base import FrameMetric, check_finite, register
from .bias_tools import mann_whitney, require_columns

__all__ = ["PlantedBias", "planted_bias_scores"]


@register
class PlantedBias(FrameMetric):
    """Does the explainer find a planted shortcut? Hit rate, false-alarm rate and AUC over many tracks.

    Input: a stem-level frame (:func:`stem_frame` rows concatenated) with columns ``model, track_id, stem,
    weight, biased`` (``biased`` True for models trained with the shortcut). Per (model, track):

    * **detection**: the shortcut stem is among the ``top_n`` (default 1) stems by ``|weight|``
      (``by="abs"``) or signed weight, strictly ahead of the first stem outside them (a tie is no detection);
    * ``hit_rate`` = share of biased-model tracks with a detection (true-positive rate);
    * ``false_alarm_rate`` = share of clean-model tracks with a detection (false-positive rate of the same
      rule);
    * ``auc`` = P(score of a biased-model track > score of a clean-model track) (ties 1/2; = Mann-Whitney
      ``U / (n_b n_c)``), with score = the shortcut's share ``|a_s| / sum_stems |a|`` (``score="share"``,
      scale-free across models) or its signed weight ``a_s`` (``score="weight"``).

    Tracks where the shortcut stem is absent from the components are excluded (``n_excluded``); a column
    ``shortcut_present`` (bool), if given, excludes tracks where it is False. Direction of the primary
    ``hit_rate``: higher. Cost: 0 model calls (reads attributions).

    ``__call__(frame, *, target=None) -> {"hit_rate", "false_alarm_rate", "auc", "n_biased", "n_clean",
    "n_excluded"}``
    """

    name, primary, direction, category = "planted_bias", "hit_rate", "higher", "bias"

    def __init__(self, *, shortcut: str = "vocals", by: str = "abs", score: str = "share", top_n: int = 1):
        if score not in ("share", "weight"):
            raise ParameterError(f"score must be 'share' or 'weight', got {score!r}.")
        if by not in ("abs", "weight"):
            raise ParameterError(f"by must be 'abs' or 'weight', got {by!r}.")
        self.shortcut, self.by, self.score = str(shortcut), by, score
        self.top_n = check_int(top_n, "top_n", minimum=1)

    def _detect(self, frame: pd.DataFrame, keys) -> pd.DataFrame:
        """Per (model, track): ``hit`` = the shortcut is strictly within the top ``top_n`` stems."""
        rows = []
        for key, g in frame.groupby(keys, sort=False):
            score = (g["weight"].abs() if self.by == "abs" else g["weight"]).to_numpy()
            mine = score[(g["stem"] == self.shortcut).to_numpy()].max()
            ahead_or_tied = int(np.sum(score >= mine)) - 1  # other stems scoring at least as high
            rows.append({**dict(zip(keys, key)), "hit": ahead_or_tied < self.top_n})
        return pd.DataFrame(rows)

    def compute(self, frame, *, target: str | None = None) -> dict:
        """Compute the metric over a frame of many tracks (calling the metric runs this and refuses NaN/inf).

        Parameters
        ----------
        frame : pandas.DataFrame
            Tidy rows of many tracks (the columns the class docstring lists).
        target : str
            The explained output, e.g. ``"valence"``.

        Returns
        -------
        dict
            ``{"hit_rate", "false_alarm_rate", "auc", "n_biased", "n_clean", "n_excluded"}``; see the
            class docstring for each number.

        Examples
        --------
        >>> metric = PlantedBias()  # doctest: +SKIP
        >>> metric(rows)  # doctest: +SKIP
        """
        frame = require_columns(frame, ["model", "track_id", "stem", "weight", "biased"],
                                "planted-bias scoring")
        if target is not None and "target" in frame.columns:
            frame = frame[frame["target"] == target]
        keys = ["model", "track_id"]
        present = frame.groupby(keys)["stem"].apply(lambda s: self.shortcut in set(s))
        if "shortcut_present" in frame.columns:
            present &= frame.groupby(keys)["shortcut_present"].all().astype(bool)
        keep = present[present].index
        excluded = int((~present).sum())
        frame = frame.set_index(keys).loc[keep].reset_index()
        if frame.empty:
            raise EvaluationError(f"no track has the shortcut stem {self.shortcut!r}.")
        tops = self._detect(frame, keys)
        total = frame.assign(a=frame["weight"].abs()).groupby(keys)["a"].sum()
        sc = frame[frame["stem"] == self.shortcut].set_index(keys)["weight"]
        score = sc.abs() / total.loc[sc.index].replace(0.0, np.nan) if self.score == "share" else sc
        info = frame.groupby(keys)["biased"].first().astype(bool)
        tops = tops.set_index(keys).join(info).join(score.rename("score"))
        tops["score"] = tops["score"].fillna(0.0)  # all-zero attributions: the shortcut has no share
        biased, clean = tops[tops["biased"]], tops[~tops["biased"]]
        if biased.empty or clean.empty:
            raise EvaluationError("planted-bias scoring needs tracks of both biased and clean models.")
        return {
            "hit_rate": float(biased["hit"].mean()),
            "false_alarm_rate": float(clean["hit"].mean()),
            "auc": mann_whitney(biased["score"], clean["score"])["auc"],
            "n_biased": len(biased),
            "n_clean": len(clean),
            "n_excluded": excluded,
        }


def planted_bias_scores(frame: pd.DataFrame, *, shortcut: str = "vocals", by: str = "weight") -> pd.DataFrame:
    """Planted-bias scores as a one-row frame (``hit_rate, false_alarm_rate, auc, n_biased, n_clean,
    n_excluded``), from either layout the harness produces:

    * stem-level rows ``model, track_id, stem, weight`` + ``biased`` (or ``variant == "biased"``): scored by
      :class:`PlantedBias` (``shortcut``, ``by``; AUC on the shortcut's share of ``|a|``);
    * per-clip rows ``model, track_id, shortcut_weight, shortcut_top`` + ``biased``/``variant`` (optional
      ``vocals_present``): detection = ``shortcut_top``, AUC on ``shortcut_weight`` (signed).
    """
    frame = frame.copy()
    if "biased" not in frame.columns:
        require_columns(frame, ["variant"], "planted-bias scores")
        frame["biased"] = frame["variant"] == "biased"
    if "stem" in frame.columns:
        return pd.DataFrame([PlantedBias(shortcut=shortcut, by=by)(frame)])
    require_columns(frame, ["shortcut_weight", "shortcut_top"], "planted-bias scores")
    keep = frame["vocals_present"].astype(bool) if "vocals_present" in frame.columns else True
    excluded = int((~keep).sum()) if "vocals_present" in frame.columns else 0
    frame = frame[keep]
    biased, clean = frame[frame["biased"].astype(bool)], frame[~frame["biased"].astype(bool)]
    if biased.empty or clean.empty:
        raise EvaluationError("planted-bias scoring needs tracks of both biased and clean models.")
    result = {
        "hit_rate": float(biased["shortcut_top"].astype(bool).mean()),
        "false_alarm_rate": float(clean["shortcut_top"].astype(bool).mean()),
        "auc": mann_whitney(biased["shortcut_weight"], clean["shortcut_weight"])["auc"],
        "n_biased": len(biased),
        "n_clean": len(clean),
        "n_excluded": excluded,
    }
    return check_finite(pd.DataFrame([result]), metric="planted_bias")

