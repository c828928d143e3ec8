"""Fidelity in component space: surrogate R², faithfulness correlation, infidelity, reconstruction gap.

Notation: ``f`` is the explained model output (one target), ``z in {0,1}^K`` a mask, ``f(z)`` the output on
``compose(z)``, ``1`` the all-on mask (the original mix), ``a in R^K`` the attribution. A subset ``S`` of
components is "removed" by the mask ``1 - 1_S``. Deletion / insertion curves live in :mod:`.curves`.
"""

from __future__ import annotations

import numpy as np

from ...exceptions import EvaluationError
from ...validation import check_int, check_seed
from .base import CachedOracle, ExplanationMetric, register, resolve_attribution, target_index

__all__ = ["SurrogateR2", "ReconstructionGap", "FaithfulnessCorrelation", "Infidelity", "removal_subsets"]


def removal_subsets(
    k: int, n: int, *, rng, subset_size: int | None = None, exhaustive: bool = False
) -> np.ndarray:
    """Indicator rows ``I (n, K)`` of random subsets ``S`` to remove (1 = removed).

    ``subset_size=None`` draws every component into ``S`` independently with probability 1/2 (the same law as
    LIME's masks, so ``1 - I`` often hits the prediction cache); an int draws ``S`` uniformly among subsets of
    that size. ``exhaustive=True`` returns all ``2**K`` subsets (the exact expectation under probability 1/2).
    """
    if exhaustive:
        return ((np.arange(2**k)[:, None] >> np.arange(k)[None, :]) & 1).astype(np.uint8)
    gen = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
    if subset_size is None:
        return gen.integers(0, 2, size=(n, k), dtype=np.uint8)
    size = check_int(subset_size, "subset_size", minimum=1)
    if size > k:
        raise EvaluationError(f"subset_size={size} exceeds the number of components K={k}.")
    out = np.zeros((n, k), dtype=np.uint8)
    for row in out:
        row[gen.choice(k, size=size, replace=False)] = 1
    return out


@register
class SurrogateR2(ExplanationMetric):
    """Weighted R² of the attribution's linear model on its samples (audioLIME's only fidelity number).

    ``R² = 1 - sum_i pi_i (y_i - g(z_i))² / sum_i pi_i (y_i - ybar_pi)²`` with kernel weights ``pi`` and
    ``g(z) = intercept + z . a`` of the attribution ``explanation.attribution(target, source)`` (default
    source: the chain for emotions of a linear-head model, scored against the model's emotion outputs; the
    LIME surrogate otherwise). For LIME it is the fit's own score. Undefined (EvaluationError) for occlusion
    on its own ``K + 1`` masks, which it reproduces by construction. Direction: higher. Cost: 0 model calls
    (read from the Attribution).

    ``__call__(explanation, *, target, source=None) -> {"r2"}``
    """

    name, primary, direction, category = "surrogate_r2", "r2", "higher", "fidelity"

    def compute(self, explanation, model=None, *, target: str, source: str | None = None) -> dict:
        """Compute the metric of one explanation (calling the metric runs this and refuses NaN/inf).

        Parameters
        ----------
        explanation : Explanation
            One explanation of one track; model outputs are drawn through its prediction cache.
        model : Predictor, optional
            The explained model; needed only for masks the explanation's cache lacks.
        target : str
            The explained output, e.g. ``"valence"``.
        source : str, optional
            Which attribution of the explanation (``Explanation.attribution(target, source)``); default the
            package's rule.

        Returns
        -------
        dict
            ``{"r2"}``; see the class docstring for each number.

        Examples
        --------
        >>> metric = SurrogateR2()  # doctest: +SKIP
        >>> metric(exp, model, target="valence")  # doctest: +SKIP
        """
        att = explanation.attribution(target, source)
        if not np.isfinite(att.score):
            raise EvaluationError(
                f"the weighted R² of source {att.info.get('source')!r} is undefined here: its masks are "
                "reproduced by construction (occlusion without enumerated coalitions)."
            )
        return {"r2": float(att.score), "model_calls": 0}


@register
class ReconstructionGap(ExplanationMetric):
    """``f(mix) - f(sum of stems)`` for the target, as recorded by the explanation.

    With a residual component the all-on mask reproduces the mix exactly, so the gap measures how much of the
    prediction the separator's stems miss (evaluated once at explain time: the stems-only mask). Direction of
    the primary ``abs_gap``: lower. Cost: 0 model calls.

    ``__call__(explanation, *, target) -> {"gap", "abs_gap"}``
    """

    name, primary, direction, category = "reconstruction_gap", "abs_gap", "lower", "fidelity"

    def compute(self, explanation, model=None, *, target: str) -> dict:
        """Compute the metric of one explanation (calling the metric runs this and refuses NaN/inf).

        Parameters
        ----------
        explanation : Explanation
            One explanation of one track; model outputs are drawn through its prediction cache.
        model : Predictor, optional
            The explained model; needed only for masks the explanation's cache lacks.
        target : str
            The explained output, e.g. ``"valence"``.

        Returns
        -------
        dict
            ``{"gap", "abs_gap"}``; see the class docstring for each number.

        Examples
        --------
        >>> metric = ReconstructionGap()  # doctest: +SKIP
        >>> metric(exp, model, target="valence")  # doctest: +SKIP
        """
        target_index(explanation, target)
        gap = float(explanation.reconstruction_gap[target])
        return {"gap": gap, "abs_gap": abs(gap), "model_calls": 0}


def _pearson(x: np.ndarray, y: np.ndarray, what: str) -> float:
    sx, sy = np.std(x), np.std(y)
    if sx == 0 or sy == 0:
        which = "the summed attributions" if sx == 0 else "the output changes"
        raise EvaluationError(
            f"{what} is undefined: {which} are constant over the sampled subsets (an all-zero attribution, "
            "or a model that ignores every component)."
        )
    return float(np.mean((x - x.mean()) * (y - y.mean())) / (sx * sy))


@register
class FaithfulnessCorrelation(ExplanationMetric):
    """Faithfulness correlation (Bhatt, Weller & Moura, IJCAI 2020), in mask space.

    ``mu_F = corr_S( sum_{k in S} a_k , f(1) - f(1 - 1_S) )`` -- Pearson r over ``n_subsets`` random subsets
    ``S`` (see :func:`removal_subsets`; default: each component in ``S`` with probability 1/2). For a model
    additive in the components and ``a`` its true effects, ``f(1) - f(1 - 1_S) = sum_S a_k`` exactly, so
    ``mu_F = 1``; for ``a`` independent of the effects, ``E[cov] = sum_k E[a_k] e_k Var(1_S,k) = 0``.
    Direction: higher; range [-1, 1]. Undefined (EvaluationError) when ``a`` is constant zero or ``f`` ignores
    every sampled removal.

    Cost: at most ``n_subsets + 1`` new model calls; masks already in the cache are free (with the default law
    and ``2**K <= N`` the explanation's exhaustive samples already cover every subset: 0 calls).

    Parameters
    ----------
    n_subsets : int
        Random subsets (default 128).
    subset_size : int, optional
        Fixed ``|S|`` as in Bhatt et al.; default: Bernoulli(1/2) membership.
    seed : int
        Seeds the subsets.

    Notes
    -----
    ``__call__(explanation, model=None, *, target, attribution=None, source=None)
    -> {"faithfulness_corr", "model_calls"}`` (``source`` picks the explanation's attribution, see
    :meth:`~mer_audiolime.explain.Explanation.attribution`).
    """

    name, primary, direction, category = "faithfulness_correlation", "faithfulness_corr", "higher", "fidelity"

    def __init__(
        self, *, n_subsets: int = 128, subset_size: int | None = None, seed: int = 0, batch_size: int = 32
    ):
        self.n_subsets = check_int(n_subsets, "n_subsets", minimum=3)
        self.subset_size = (None if subset_size is None
                            else check_int(subset_size, "subset_size", minimum=1))
        self.seed = check_seed(seed)
        self.batch_size = batch_size

    def compute(self, explanation, model=None, *, target: str, attribution=None, source=None) -> dict:
        """Compute the metric of one explanation (calling the metric runs this and refuses NaN/inf).

        Parameters
        ----------
        explanation : Explanation
            One explanation of one track; model outputs are drawn through its prediction cache.
        model : Predictor, optional
            The explained model; needed only for masks the explanation's cache lacks.
        target : str
            The explained output, e.g. ``"valence"``.
        attribution : array-like, shape (K,), optional
            Weights to score instead of the explanation's own attribution.
        source : str, optional
            Which attribution of the explanation (``Explanation.attribution(target, source)``); default the
            package's rule.

        Returns
        -------
        dict
            ``{"faithfulness_corr", "model_calls"}``; see the class docstring for each number.

        Examples
        --------
        >>> metric = FaithfulnessCorrelation()  # doctest: +SKIP
        >>> metric(exp, model, target="valence")  # doctest: +SKIP
        """
        a = resolve_attribution(explanation, target, attribution, source)
        col = target_index(explanation, target)
        oracle = CachedOracle(explanation, model, batch_size=self.batch_size)
        subsets = removal_subsets(len(a), self.n_subsets, rng=self.seed, subset_size=self.subset_size)
        masks = np.vstack([np.ones((1, len(a)), np.uint8), 1 - subsets])
        y = oracle(masks)[:, col]
        drop = y[0] - y[1:]
        return {
            "faithfulness_corr": _pearson(subsets @ a, drop, "faithfulness correlation"),
            "model_calls": oracle.new_calls,
        }


@register
class Infidelity(ExplanationMetric):
    """Infidelity (Yeh et al., NeurIPS 2019) with perturbations in mask space.

    Perturbation law ``mu_I``: ``I in {0,1}^K`` switches components off, each independently with probability
    1/2 (``n_perturbations`` seeded draws; all ``2**K`` patterns -- the exact expectation -- when
    ``2**K <= n_perturbations``). With ``d_I = f(1) - f(1 - I)``:

    * ``infidelity = E[(I . a - d_I)²]`` (output units squared), Yeh et al.'s definition;
    * ``relative_infidelity = min_beta E[(beta I . a - d_I)²] / E[d_I²]`` in [0, 1]: the optimally rescaled
      version
      (Yeh et al. report infidelity after the best scaling of the explanation) made scale-free; 0 when
      ``d_I`` is proportional to ``I . a``, 1 when ``I . a`` carries no linear information about ``d_I``.

    Both are 0 for the exact effects of an additive model. Direction: lower. Undefined when every ``d_I`` is
    0. Cost: at most ``n_perturbations + 1`` new model calls (0 when the cache holds them; the same seed as
    :class:`FaithfulnessCorrelation` reuses its masks).

    ``__call__(explanation, model=None, *, target, attribution=None, source=None)
    -> {"infidelity", "relative_infidelity", "model_calls"}``
    """

    name, primary, direction, category = "infidelity", "relative_infidelity", "lower", "fidelity"

    def __init__(self, *, n_perturbations: int = 128, seed: int = 0, batch_size: int = 32):
        self.n_perturbations = check_int(n_perturbations, "n_perturbations", minimum=2)
        self.seed = check_seed(seed)
        self.batch_size = batch_size

    def compute(self, explanation, model=None, *, target: str, attribution=None, source=None) -> dict:
        """Compute the metric of one explanation (calling the metric runs this and refuses NaN/inf).

        Parameters
        ----------
        explanation : Explanation
            One explanation of one track; model outputs are drawn through its prediction cache.
        model : Predictor, optional
            The explained model; needed only for masks the explanation's cache lacks.
        target : str
            The explained output, e.g. ``"valence"``.
        attribution : array-like, shape (K,), optional
            Weights to score instead of the explanation's own attribution.
        source : str, optional
            Which attribution of the explanation (``Explanation.attribution(target, source)``); default the
            package's rule.

        Returns
        -------
        dict
            ``{"infidelity", "relative_infidelity", "model_calls"}``; see the class docstring for each
            number.

        Examples
        --------
        >>> metric = Infidelity()  # doctest: +SKIP
        >>> metric(exp, model, target="valence")  # doctest: +SKIP
        """
        a = resolve_attribution(explanation, target, attribution, source)
        k = len(a)
        col = target_index(explanation, target)
        oracle = CachedOracle(explanation, model, batch_size=self.batch_size)
        exhaustive = k <= 20 and 2**k <= self.n_perturbations
        pert = removal_subsets(k, self.n_perturbations, rng=self.seed, exhaustive=exhaustive)
        y = oracle(np.vstack([np.ones((1, k), np.uint8), 1 - pert]))[:, col]
        drop = y[0] - y[1:]
        explained = pert @ a
        infd = float(np.mean((explained - drop) ** 2))
        energy = float(np.mean(drop**2))
        if energy == 0:
            raise EvaluationError("relative infidelity is undefined: no perturbation changes the output.")
        beta = float(np.mean(explained * drop) / np.mean(explained**2)) if np.any(explained) else 0.0
        rel = float(np.mean((beta * explained - drop) ** 2) / energy)
        return {"infidelity": infd, "relative_infidelity": rel, "model_calls": oracle.new_calls}
