"""Bias detection: planted-shortcut scoring on the synthetic suite, and subgroup analysis on real data.

Inputs are tidy frames (one row per track, or per track x stem / feature), built with :func:`stem_frame` and
:func:`effect_frame` from explanations. Tests between a subgroup and the rest use the two-sided Mann-Whitney U
test (``scipy.stats.mannwhitneyu``) and every family of tests is corrected with Benjamini-Hochberg
(:func:`benjamini_hochberg`, implemented here: statsmodels is not a dependency).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ...exceptions import EvaluationError, ParameterError
from ...validation import check_int
from .base import FrameMetric, check_finite, register

__all__ = [
    "PlantedBias",
    "SubgroupError",
    "SubgroupErrorShare",
    "SubgroupEffectProfile",
    "SubgroupTopStems",
    "benjamini_hochberg",
    "mann_whitney",
    "stem_frame",
    "effect_frame",
    "top_stems",
    "planted_bias_scores",
]


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


def _need(frame: pd.DataFrame, columns, what: str) -> pd.DataFrame:
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
        frame = _need(frame, ["model", "track_id", "stem", "weight", "biased"], "planted-bias scoring")
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
        _need(frame, ["variant"], "planted-bias scores")
        frame["biased"] = frame["variant"] == "biased"
    if "stem" in frame.columns:
        return pd.DataFrame([PlantedBias(shortcut=shortcut, by=by)(frame)])
    _need(frame, ["shortcut_weight", "shortcut_top"], "planted-bias scores")
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


def _vs_rest(frame: pd.DataFrame, *, group: str, value: str, min_size: int, by=()) -> pd.DataFrame:
    """Per (``by`` ..., subgroup): n, means of ``value`` in the subgroup / the rest, MWU; BH over all rows."""
    rows = []
    strata = frame.groupby(list(by), sort=True) if by else [((), frame)]
    for key, part in strata:
        key = key if isinstance(key, tuple) else (key,)
        for sub, g in part.groupby(group, sort=True):
            rest = part.loc[part[group] != sub, value]
            if len(g) < min_size or len(rest) < min_size:
                continue
            rows.append(
                {
                    **dict(zip(by, key)),
                    "subgroup": sub,
                    "n": len(g),
                    "mean": float(g[value].mean()),
                    "median": float(g[value].median()),
                    "mean_rest": float(rest.mean()),
                    **mann_whitney(g[value], rest),
                }
            )
    if not rows:
        raise EvaluationError(
            f"no subgroup of {group!r} has at least min_size={min_size} rows on both sides."
        )
    out = pd.DataFrame(rows)
    out["q_value"] = benjamini_hochberg(out["p_value"])
    return out


@register
class SubgroupError(FrameMetric):
    """Signed prediction error per subgroup vs the rest (the paper's hip-hop valence over-estimation).

    Input: one row per track with ``group`` (e.g. genre), ``prediction`` and ``truth`` columns (NaN truths are
    dropped). ``error = prediction - truth``. Per subgroup with at least ``min_size`` tracks (and as many
    outside it): ``n, mean_error, median_error, mean_error_rest, u, p_value, auc, q_value`` -- two-sided
    Mann-Whitney U of the subgroup's errors vs the others', Benjamini-Hochberg over subgroups. Primary
    ``q_value`` (higher = less evidence of a subgroup bias). Cost: 0 model calls.

    ``__call__(frame, *, group="genre", prediction="prediction", truth="truth") -> DataFrame``
    """

    name, primary, direction, category = "subgroup_error", "q_value", "higher", "bias"

    def __init__(self, *, min_size: int = 5):
        self.min_size = check_int(min_size, "min_size", minimum=1)

    def compute(
        self, frame, *, group: str = "genre", prediction: str = "prediction", truth: str = "truth"
    ) -> pd.DataFrame:
        """Compute the metric over a frame of many tracks (calling the metric runs this and refuses NaN/inf).

        Parameters
        ----------
        frame : pandas.DataFrame
            Tidy rows of many tracks (the columns the class docstring lists).
        group : str
            Column holding the subgroup label.
        prediction : str
            Column of the model's prediction.
        truth : str
            Column of the annotated value.

        Returns
        -------
        pandas.DataFrame
            Tidy rows (see the class docstring for the columns).

        Examples
        --------
        >>> metric = SubgroupError()  # doctest: +SKIP
        >>> metric(rows)  # doctest: +SKIP
        """
        frame = _need(frame, [group, prediction, truth], "subgroup error").dropna(subset=[truth, prediction])
        frame = frame.assign(error=frame[prediction] - frame[truth])
        out = _vs_rest(frame, group=group, value="error", min_size=self.min_size)
        return out.rename(
            columns={"mean": "mean_error", "median": "median_error", "mean_rest": "mean_error_rest"}
        )


@register
class SubgroupErrorShare(FrameMetric):
    """A subgroup's share of tracks per quantile of the signed error (the paper's hip-hop figure).

    Tracks are binned into ``n_quantiles`` equal-count bins of ``error = prediction - truth`` (bin 1 = most
    under-estimated, last = most over-estimated; ``pandas.qcut``, duplicate edges merged). Per bin and
    subgroup: ``n`` tracks in the bin, ``share`` of them in the subgroup, ``overall_share`` of the subgroup in
    the whole set, ``enrichment = share / overall_share`` (1 = no association of the subgroup with that error
    range), ``deviation = |share - overall_share|`` (primary; lower = less association) and the bin's error
    bounds. An enrichment well above 1 in the last bin is the paper's finding for hip-hop. Cost: 0 model
    calls.

    ``__call__(frame, *, group="genre", prediction="prediction", truth="truth", subgroups=None) -> DataFrame``
    """

    name, primary, direction, category = "subgroup_error_share", "deviation", "lower", "bias"

    def __init__(self, *, n_quantiles: int = 10):
        self.n_quantiles = check_int(n_quantiles, "n_quantiles", minimum=2)

    def compute(
        self,
        frame,
        *,
        group: str = "genre",
        prediction: str = "prediction",
        truth: str = "truth",
        subgroups=None,
    ) -> pd.DataFrame:
        """Compute the metric over a frame of many tracks (calling the metric runs this and refuses NaN/inf).

        Parameters
        ----------
        frame : pandas.DataFrame
            Tidy rows of many tracks (the columns the class docstring lists).
        group : str
            Column holding the subgroup label.
        prediction : str
            Column of the model's prediction.
        truth : str
            Column of the annotated value.
        subgroups : sequence of str, optional
            Subgroups to report; default every subgroup.

        Returns
        -------
        pandas.DataFrame
            Tidy rows (see the class docstring for the columns).

        Examples
        --------
        >>> metric = SubgroupErrorShare()  # doctest: +SKIP
        >>> metric(rows)  # doctest: +SKIP
        """
        frame = _need(frame, [group, prediction, truth], "subgroup error share").dropna(
            subset=[truth, prediction]
        )
        error = frame[prediction] - frame[truth]
        if len(frame) < self.n_quantiles:
            raise EvaluationError(f"{len(frame)} tracks cannot fill {self.n_quantiles} error quantiles.")
        bins = pd.qcut(error, self.n_quantiles, labels=False, duplicates="drop")
        frame = frame.assign(error=error, bin=bins.astype(int) + 1)
        subs = sorted(frame[group].unique()) if subgroups is None else list(subgroups)
        rows = []
        for sub in subs:
            overall = float((frame[group] == sub).mean())
            if overall == 0:
                raise ParameterError(f"subgroup {sub!r} does not occur in column {group!r}.")
            for b, g in frame.groupby("bin", sort=True):
                share = float((g[group] == sub).mean())
                rows.append(
                    {
                        "subgroup": sub,
                        "bin": int(b),
                        "error_low": float(g["error"].min()),
                        "error_high": float(g["error"].max()),
                        "n": len(g),
                        "share": share,
                        "overall_share": overall,
                        "enrichment": share / overall,
                        "deviation": abs(share - overall),
                    }
                )
        return pd.DataFrame(rows)


@register
class SubgroupEffectProfile(FrameMetric):
    """Mid-level effect profile per subgroup vs the rest, one test per (feature, subgroup).

    Input: :func:`effect_frame` rows (``feature, effect``) with a ``group`` column. Per feature and subgroup:
    ``n, mean, median, mean_rest, u, p_value, auc, q_value`` (Mann-Whitney U, BH over all feature x subgroup
    tests). In the paper a higher rhythm-stability effect on valence singled out hip-hop. Primary ``q_value``;
    higher = less evidence. Cost: 0 model calls.

    ``__call__(frame, *, group="genre") -> DataFrame`` (columns ``feature, subgroup, ...``)
    """

    name, primary, direction, category = "subgroup_effect_profile", "q_value", "higher", "bias"

    def __init__(self, *, min_size: int = 5):
        self.min_size = check_int(min_size, "min_size", minimum=1)

    def compute(self, frame, *, group: str = "genre") -> pd.DataFrame:
        """Compute the metric over a frame of many tracks (calling the metric runs this and refuses NaN/inf).

        Parameters
        ----------
        frame : pandas.DataFrame
            Tidy rows of many tracks (the columns the class docstring lists).
        group : str
            Column holding the subgroup label.

        Returns
        -------
        pandas.DataFrame
            Tidy rows (see the class docstring for the columns).

        Examples
        --------
        >>> metric = SubgroupEffectProfile()  # doctest: +SKIP
        >>> metric(rows)  # doctest: +SKIP
        """
        frame = _need(frame, [group, "feature", "effect"], "subgroup effect profile")
        return _vs_rest(frame, group=group, value="effect", min_size=self.min_size, by=("feature",))


@register
class SubgroupTopStems(FrameMetric):
    """Top-stem counts per subgroup, and each stem's attribution in the subgroup vs the rest.

    Input: :func:`stem_frame` rows (``track_id, stem, weight``) with a ``group`` column. Per (stem, subgroup):
    ``top_count`` (tracks whose top stem by ``|weight|`` is this stem), ``top_share`` (of the subgroup's
    tracks), and ``n, mean, median, mean_rest, u, p_value, auc, q_value`` for the stem's weight (Mann-Whitney
    U, BH over all stem x subgroup tests). Primary ``q_value``; higher = less evidence. Cost: 0 model calls.

    ``__call__(frame, *, group="genre") -> DataFrame`` (columns ``stem, subgroup, ...``)
    """

    name, primary, direction, category = "subgroup_top_stems", "q_value", "higher", "bias"

    def __init__(self, *, min_size: int = 5, by: str = "abs"):
        self.min_size = check_int(min_size, "min_size", minimum=1)
        if by not in ("abs", "weight"):
            raise ParameterError(f"by must be 'abs' or 'weight', got {by!r}.")
        self.by = by

    def compute(self, frame, *, group: str = "genre") -> pd.DataFrame:
        """Compute the metric over a frame of many tracks (calling the metric runs this and refuses NaN/inf).

        Parameters
        ----------
        frame : pandas.DataFrame
            Tidy rows of many tracks (the columns the class docstring lists).
        group : str
            Column holding the subgroup label.

        Returns
        -------
        pandas.DataFrame
            Tidy rows (see the class docstring for the columns).

        Examples
        --------
        >>> metric = SubgroupTopStems()  # doctest: +SKIP
        >>> metric(rows)  # doctest: +SKIP
        """
        frame = _need(frame, [group, "track_id", "stem", "weight"], "subgroup top stems")
        tops = top_stems(frame, keys=["track_id"], by=self.by)
        tops = tops.merge(frame.groupby("track_id")[group].first().reset_index(), on="track_id")
        counts = tops.groupby([group, "top_stem"]).size()
        sizes = tops.groupby(group).size()
        tests = _vs_rest(frame, group=group, value="weight", min_size=self.min_size, by=("stem",))
        tests["top_count"] = [int(counts.get((s, st), 0)) for s, st in zip(tests["subgroup"], tests["stem"])]
        tests["top_share"] = tests["top_count"] / tests["subgroup"].map(sizes).to_numpy()
        return tests
