"""Stability across repeated LIME calls (different seeds, same track, model and settings).

Inputs are two or more explanations (or :class:`~mer_audiolime.explain.Attribution` objects) of the same
components. Pairwise scores are averaged over all ``R (R - 1) / 2`` pairs. None of these metrics calls the
model: they read attributions, or the masks and outputs stored in each explanation.

Seed stability is only a finding where the masks depend on the seed (sampled LIME, sampled Shapley values):
for explanations whose masks do not (enumerated coalitions, exact Shapley values, occlusion) every seed gives
the same numbers, and these metrics raise :class:`~mer_audiolime.exceptions.EvaluationError` ("exact (no
sampling)") instead of returning a 1 that cannot vary.
"""

from __future__ import annotations

from itertools import combinations
from typing import Sequence

import numpy as np
from scipy import stats

from ...exceptions import EvaluationError, ParameterError
from ...explain.surrogate import kernel_weights
from ...validation import check_int
from .base import ExplanationSetMetric, register, resolve_attribution, target_index

__all__ = [
    "TopKJaccard",
    "KendallTau",
    "StabilityIndices",
    "top_k_sets",
    "vsi",
    "csi",
    "coefficient_intervals",
]


def _weights_of(items: Sequence, target: str, source: str | None = None) -> np.ndarray:
    """Stack attribution weights ``(R, K)`` of explanations / attributions, checking they share components
    and (for explanations) that their masks depend on the seed."""
    if isinstance(items, (str, bytes)) or len(items) < 2:
        raise ParameterError(
            "stability needs at least two explanations (e.g. the same track with different seeds)."
        )
    explanations = [item for item in items if hasattr(item, "components")]
    if explanations and not any(e.seed_dependent for e in explanations):
        raise EvaluationError(
            "seed stability is exact (no sampling) here: these explanations enumerate every coalition or use "
            "a deterministic estimator, so their masks do not depend on the seed and every seed gives the "
            "same attribution. Measure stability on a sampled setting (2**K > N, e.g. more segments)."
        )
    names, rows = None, []
    for item in items:
        if hasattr(item, "components"):
            comp = list(item.components.names)
            rows.append(resolve_attribution(item, target, source=source))
        elif hasattr(item, "weights"):
            comp = list(item.component_names)
            rows.append(np.asarray(item.weights, dtype=np.float64))
        else:
            raise ParameterError(f"expected Explanation or Attribution objects, got {type(item).__name__}.")
        if names is None:
            names = comp
        elif comp != names:
            raise ParameterError(
                "the explanations have different components; compare runs on the same track "
                "with the same separator and segmentation."
            )
    w = np.vstack(rows)
    if not np.all(np.isfinite(w)):
        raise EvaluationError("an attribution contains NaN or infinite weights.")
    return w


def top_k_sets(weights: np.ndarray, k: int, *, by: str = "abs") -> list:
    """Index sets of the ``k`` largest weights (``by="abs"``: magnitude; ``"weight"``: signed) per row."""
    if by not in ("abs", "weight"):
        raise ParameterError(f"by must be 'abs' or 'weight', got {by!r}.")
    w = np.atleast_2d(weights)
    key = np.abs(w) if by == "abs" else w
    if not 1 <= k <= w.shape[1]:
        raise ParameterError(f"k must be between 1 and K={w.shape[1]}, got {k}.")
    return [frozenset(np.argsort(-row, kind="stable")[:k].tolist()) for row in key]


def vsi(selected: Sequence) -> float:
    """Variables Stability Index (Visani et al. 2022) in [0, 1] (the paper reports x100).

    ``VSI = (1 / (C(R,2) p)) sum_{r < s} |V_r ∩ V_s|`` for ``R`` repeated LIME calls, each selecting a set
    ``V_r`` of ``p`` variables: the average share of variables two calls have in common.
    """
    sets = [frozenset(s) for s in selected]
    if len(sets) < 2:
        raise ParameterError("VSI needs at least two LIME calls.")
    p = len(sets[0])
    if p == 0 or any(len(s) != p for s in sets):
        raise ParameterError("every call must select the same (non-zero) number of variables.")
    pairs = list(combinations(sets, 2))
    return float(sum(len(a & b) for a, b in pairs) / (len(pairs) * p))


def csi(intervals: np.ndarray) -> float:
    """Coefficients Stability Index (Visani et al. 2022) in [0, 1] (the paper reports x100).

    ``intervals`` has shape ``(R, K, 2)`` (lower, upper confidence bound of each of K coefficients in each of
    R calls). For variable k, ``CSI_k`` is the share of the ``C(R,2)`` pairs of calls whose intervals overlap;
    ``CSI = mean_k CSI_k``. Intervals are closed: ``[l1, u1]`` and ``[l2, u2]`` overlap iff ``l1 <= u2`` and
    ``l2 <= u1`` (so identical zero-width intervals of a deterministic surrogate count as overlapping).
    """
    ci = np.asarray(intervals, dtype=np.float64)
    if ci.ndim != 3 or ci.shape[2] != 2 or ci.shape[0] < 2:
        raise ParameterError(f"intervals must have shape (R >= 2, K, 2), got {ci.shape}.")
    if not np.all(np.isfinite(ci)):
        raise EvaluationError(
            "confidence intervals contain NaN/inf (too few samples for the surrogate's dof?)."
        )
    shares = []
    for k in range(ci.shape[1]):
        over = [lo1 <= hi2 and lo2 <= hi1 for (lo1, hi1), (lo2, hi2) in combinations(ci[:, k], 2)]
        shares.append(np.mean(over))
    return float(np.mean(shares))


def coefficient_intervals(
    masks: np.ndarray, y: np.ndarray, *, kernel_width: float, alpha: float, level: float = 0.95
) -> np.ndarray:
    """Normal-theory confidence intervals ``(K, 2)`` of the weighted-ridge surrogate's coefficients.

    As in Visani et al. (2022): with kernel weights ``W``, the weighted-centred design ``X`` (the surrogate
    fits an intercept) and ``A = X'WX + alpha I``, ``beta = A^-1 X'W y`` and
    ``Var(beta) = sigma² A^-1 X'WX A^-1``; ``sigma²`` is the weighted residual variance of the unpenalised
    weighted least-squares fit, ``sum_i w_i r_i² / (N - K - 1)``. Bounds are ``beta ± z_{(1+level)/2} sd``.
    """
    z = np.asarray(masks, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n, k = z.shape
    if n - k - 1 <= 0:
        raise EvaluationError(f"coefficient intervals need more samples than K + 1 = {k + 1}, got N = {n}.")
    w = kernel_weights(z, kernel_width=kernel_width)
    zc = z - np.average(z, axis=0, weights=w)
    yc = y - np.average(y, weights=w)
    gram = zc.T @ (w[:, None] * zc)
    inv = np.linalg.pinv(gram + alpha * np.eye(k))
    beta = inv @ (zc.T @ (w * yc))
    sw = np.sqrt(w)
    coef, *_ = np.linalg.lstsq(sw[:, None] * zc, sw * yc, rcond=None)
    sigma2 = float(np.sum(w * (yc - zc @ coef) ** 2) / (n - k - 1))
    sd = np.sqrt(np.clip(np.diag(sigma2 * inv @ gram @ inv), 0.0, None))
    half = stats.norm.ppf(0.5 + level / 2) * sd
    return np.stack([beta - half, beta + half], axis=1)


@register
class TopKJaccard(ExplanationSetMetric):
    """Mean pairwise Jaccard index of the top-k components across repeated explanations.

    ``J = mean_{r<s} |T_r ∩ T_s| / |T_r ∪ T_s|`` with ``T_r`` the ``k`` components of largest ``|a|``
    (``by="abs"``) or largest signed ``a`` (``by="weight"``). 1 for identical rankings. Direction: higher.
    Cost: 0 model calls.

    ``__call__(explanations, *, target, source=None) -> {"jaccard", "jaccard_min", "n_pairs"}``
    """

    name, primary, direction, category = "top_k_jaccard", "jaccard", "higher", "stability"

    def __init__(self, *, k: int = 3, by: str = "abs"):
        self.k = check_int(k, "k", minimum=1)
        if by not in ("abs", "weight"):
            raise ParameterError(f"by must be 'abs' or 'weight', got {by!r}.")
        self.by = by

    def compute(self, explanations, *, target: str, model=None, source: str | None = None) -> dict:
        """Compute the metric over a set of explanations (calling the metric runs this and refuses NaN/inf).

        Parameters
        ----------
        explanations : list of Explanation
            Explanations of the same track and setting (e.g. one per seed).
        target : str
            The explained output, e.g. ``"valence"``.
        model : Predictor, optional
            The explained model; needed only for masks the explanation's cache lacks.
        source : str, optional
            Which attribution of the explanation (``Explanation.attribution(target, source)``); default the
            package's rule.

        Returns
        -------
        dict
            ``{"jaccard", "jaccard_min", "n_pairs"}``; see the class docstring for each number.

        Examples
        --------
        >>> metric = TopKJaccard()  # doctest: +SKIP
        >>> metric([exp_seed0, exp_seed1], target="valence")  # doctest: +SKIP
        """
        sets = top_k_sets(_weights_of(explanations, target, source), self.k, by=self.by)
        scores = [len(a & b) / len(a | b) for a, b in combinations(sets, 2)]
        return {
            "jaccard": float(np.mean(scores)),
            "jaccard_min": float(np.min(scores)),
            "n_pairs": len(scores),
        }


@register
class KendallTau(ExplanationSetMetric):
    """Mean pairwise Kendall tau-b between the attribution vectors of repeated explanations.

    tau-b of the weights equals tau-b of the rankings they induce; 1 for identical orders, -1 for reversed
    ones. Undefined (EvaluationError) if an explanation's weights are all equal. Direction: higher. Cost: 0
    calls.

    ``__call__(explanations, *, target, source=None) -> {"kendall_tau", "kendall_tau_min", "n_pairs"}``
    """

    name, primary, direction, category = "kendall_tau", "kendall_tau", "higher", "stability"

    def compute(self, explanations, *, target: str, model=None, source: str | None = None) -> dict:
        """Compute the metric over a set of explanations (calling the metric runs this and refuses NaN/inf).

        Parameters
        ----------
        explanations : list of Explanation
            Explanations of the same track and setting (e.g. one per seed).
        target : str
            The explained output, e.g. ``"valence"``.
        model : Predictor, optional
            The explained model; needed only for masks the explanation's cache lacks.
        source : str, optional
            Which attribution of the explanation (``Explanation.attribution(target, source)``); default the
            package's rule.

        Returns
        -------
        dict
            ``{"kendall_tau", "kendall_tau_min", "n_pairs"}``; see the class docstring for each number.

        Examples
        --------
        >>> metric = KendallTau()  # doctest: +SKIP
        >>> metric([exp_seed0, exp_seed1], target="valence")  # doctest: +SKIP
        """
        w = _weights_of(explanations, target, source)
        taus = []
        for r, s in combinations(range(len(w)), 2):
            if np.ptp(w[r]) == 0 or np.ptp(w[s]) == 0:
                raise EvaluationError(
                    "Kendall tau is undefined for an attribution whose weights are all equal."
                )
            taus.append(stats.kendalltau(w[r], w[s]).statistic)
        return {
            "kendall_tau": float(np.mean(taus)),
            "kendall_tau_min": float(np.min(taus)),
            "n_pairs": len(taus),
        }


@register
class StabilityIndices(ExplanationSetMetric):
    """VSI and CSI of Visani, Bagli, Chesani, Poluzzi & Capuzzo (2022), "Statistical stability indices for
    LIME: obtaining reliable explanations for machine learning models", J. Oper. Res. Soc. 73(1), 91-101
    (arXiv:2001.11757).

    Over ``R`` repeated LIME calls (the given explanations):

    * **VSI** (:func:`vsi`): in the paper each call selects ``p`` variables; audioLIME fits all K components,
      so the selected set is the top ``p = num_features`` components by ``|a|``. VSI is the mean share of
      selected variables shared by two calls.
    * **CSI** (:func:`csi`): every call yields a ``level`` confidence interval for each coefficient
      (:func:`coefficient_intervals`, recomputed from the explanation's masks and outputs, kernel width and
      ridge alpha); CSI is the mean over components of the share of pairs of calls whose intervals overlap.
      All K components enter every surrogate here, so CSI covers all K. CSI is defined for LIME (direct or
      chained) only; other sources raise ParameterError.

    Both lie in [0, 1] (the paper's percentages / 100); direction: higher (primary ``csi``). Cost: 0 calls.
    For chained (emotion) targets the intervals are those of LIME fitted directly on the emotion output, whose
    coefficients equal the chained ones (linearity of least squares).

    ``__call__(explanations, *, target, source=None) -> {"vsi", "csi", "n_calls"}``
    """

    name, primary, direction, category = "stability_indices", "csi", "higher", "stability"

    def __init__(self, *, num_features: int = 3, level: float = 0.95):
        self.num_features = check_int(num_features, "num_features", minimum=1)
        if not 0 < level < 1:
            raise ParameterError(f"level must be in (0, 1), got {level!r}.")
        self.level = float(level)

    def compute(self, explanations, *, target: str, model=None, source: str | None = None) -> dict:
        """Compute the metric over a set of explanations (calling the metric runs this and refuses NaN/inf).

        Parameters
        ----------
        explanations : list of Explanation
            Explanations of the same track and setting (e.g. one per seed).
        target : str
            The explained output, e.g. ``"valence"``.
        model : Predictor, optional
            The explained model; needed only for masks the explanation's cache lacks.
        source : str, optional
            Which attribution of the explanation (``Explanation.attribution(target, source)``); default the
            package's rule.

        Returns
        -------
        dict
            ``{"vsi", "csi", "n_calls"}``; see the class docstring for each number.

        Examples
        --------
        >>> metric = StabilityIndices()  # doctest: +SKIP
        >>> metric([exp_seed0, exp_seed1], target="valence")  # doctest: +SKIP
        """
        w = _weights_of(explanations, target, source)
        if not all(hasattr(e, "masks") for e in explanations):
            raise ParameterError(
                "CSI needs Explanation objects (their masks and outputs), not bare Attributions."
            )
        intervals = []
        for e in explanations:
            used = e.attribution(target, source).info.get("source", "lime")
            if used not in ("lime", "chain:lime") or e.source != "lime":
                raise ParameterError(
                    f"CSI needs the confidence intervals of a LIME fit; source {used!r} has none. Use "
                    "source='lime' (or 'chain:lime'), or read VSI, Jaccard and Kendall tau."
                )
            col = target_index(e, target)
            intervals.append(
                coefficient_intervals(
                    e.masks,
                    e.outputs[:, col],
                    kernel_width=float(e.settings.get("kernel_width", 0.25)),
                    alpha=float(e.settings.get("effective_alpha", e.settings.get("alpha", 1.0))),
                    level=self.level,
                )
            )
        p = min(self.num_features, w.shape[1])
        return {"vsi": vsi(top_k_sets(w, p, by="abs")), "csi": csi(np.stack(intervals)), "n_calls": len(w)}
