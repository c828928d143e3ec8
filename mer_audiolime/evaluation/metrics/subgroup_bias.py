"""Subgroup analysis on real data: prediction errors, mid-level effects and top stems of a subgroup vs the
rest.

Every metric here tests each subgroup against the other tracks with the two-sided Mann-Whitney U test and
corrects the family with Benjamini-Hochberg (:mod:`~mer_audiolime.evaluation.metrics.bias_tools`).
"""

from __future__ import annotations

import pandas as pd

from ...exceptions import EvaluationError, ParameterError
from ...validation import check_int
from .base import FrameMetric, register
from .bias_tools import benjamini_hochberg, mann_whitney, require_columns, top_stems

__all__ = ["SubgroupError", "SubgroupErrorShare", "SubgroupEffectProfile", "SubgroupTopStems"]


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
        frame = require_columns(frame, [group, prediction, truth], "subgroup error").dropna(
            subset=[truth, prediction])
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
        frame = require_columns(frame, [group, prediction, truth], "subgroup error share").dropna(
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
        frame = require_columns(frame, [group, "feature", "effect"], "subgroup effect profile")
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
        frame = require_columns(frame, [group, "track_id", "stem", "weight"], "subgroup top stems")
        tops = top_stems(frame, keys=["track_id"], by=self.by)
        tops = tops.merge(frame.groupby("track_id")[group].first().reset_index(), on="track_id")
        counts = tops.groupby([group, "top_stem"]).size()
        sizes = tops.groupby(group).size()
        tests = _vs_rest(frame, group=group, value="weight", min_size=self.min_size, by=("stem",))
        tests["top_count"] = [int(counts.get((s, st), 0)) for s, st in zip(tests["subgroup"], tests["stem"])]
        tests["top_share"] = tests["top_count"] / tests["subgroup"].map(sizes).to_numpy()
        return tests
