"""Deletion and insertion curves in component space, scored against random orders (AOPC, area between curves).

Order: components sorted by decreasing attribution ``a`` (signed; ties keep component order). With ``o`` that
order and ``j = 0 .. K``:

* deletion curve ``D(j) = f(1 - 1_{o[:j]})`` -- the mix with the ``j`` top components removed
  (``D(0) = f(1)``, ``D(K) = f(0)``);
* insertion curve ``I(j) = f(1_{o[:j]})`` -- only the ``j`` top components playing.

For an output that the top components push *up*, a faithful order makes ``D`` fall and ``I`` rise faster than
a random order. The same curves are computed for ``n_random >= 10`` seeded random permutations and averaged.

**Normalisation.** ``R = max - min`` of ``f`` over every coalition on the random-order curves (these include
``f(1)`` and ``f(0)``). ``R`` does not depend on the attribution, so every explainer evaluated on one track
and seed shares the denominator; dividing by it makes the scores scale-free (invariant to affine rescaling of
the output). Unlike ``|f(1) - f(0)|`` it does not vanish when positive and negative effects cancel.

Scores (names say what is computed: ``norm_`` = divided by ``R``, ``_minus_random`` = minus the same score
of random orders, so an uninformative attribution scores about 0):

* ``norm_aopc_deletion_minus_random = mean_{j=0..K} (Dbar_rand(j) - D(j)) / R`` (AOPC of Samek et al. 2017
  minus its random-order baseline, over R);
* ``norm_aopc_insertion_minus_random = mean_{j=0..K} (I(j) - Ibar_rand(j)) / R``;
* ``norm_abc_minus_random = (A - Abar_rand) / R`` with ``A = int_0^1 (I - D) dx`` over ``x = j/K``
  (trapezoid): the area between the insertion and deletion curves minus that of random orders, over R;
* ``norm_abc = A / R`` (no baseline subtracted).

For an additive model ``f(z) = b + z . e`` and ``a = e``, ``I(j) - D(j) = 2 S_j - sum(e)`` with ``S_j`` the
sum of the ``j`` largest effects, the maximum over all subsets of size ``j``: the true effects maximise all
three scores among all orders.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...exceptions import EvaluationError
from ...validation import check_int, check_seed
from .base import CachedOracle, ExplanationMetric, register, resolve_attribution, target_index

__all__ = ["DeletionInsertion", "order_masks"]


def order_masks(order: np.ndarray) -> tuple:
    """Deletion and insertion masks ``(K+1, K)`` each for a component order (row j: j components moved)."""
    k = len(order)
    ins = np.zeros((k + 1, k), dtype=np.uint8)
    for j in range(1, k + 1):
        ins[j] = ins[j - 1]
        ins[j, order[j - 1]] = 1
    return 1 - ins, ins


@register
class DeletionInsertion(ExplanationMetric):
    """Deletion / insertion curves against random orders: AOPC and normalised area between curves.

    See the module docstring for the exact definitions. Direction of the primary ``norm_abc_minus_random``:
    higher (0 = no better than random).

    Cost: at most ``(n_random + 1) * 2 (K - 1) + 1`` new model calls (the interior coalitions of every curve
    plus the all-off mask); coalitions already in the cache are free -- with an exhaustive explanation
    (``2**K <= N``) the metric makes 0 calls.

    Parameters
    ----------
    n_random : int
        Random orders for the baseline (>= 10).
    seed : int
        Seeds the random orders.

    Notes
    -----
    ``__call__(explanation, model=None, *, target, attribution=None, source=None)
    -> {"norm_aopc_deletion_minus_random", "norm_aopc_insertion_minus_random", "norm_abc_minus_random",
    "norm_abc", "scale", "model_calls"}``; :meth:`curves` returns the curves as a tidy frame (no extra model
    calls after ``__call__``).
    """

    name, primary, direction, category = "deletion_insertion", "norm_abc_minus_random", "higher", "fidelity"

    def __init__(self, *, n_random: int = 10, seed: int = 0, batch_size: int = 32):
        self.n_random = check_int(n_random, "n_random", minimum=10)
        self.seed = check_seed(seed)
        self.batch_size = batch_size

    def _evaluate(self, explanation, model, target, attribution, source=None):
        a = resolve_attribution(explanation, target, attribution, source)
        k = len(a)
        col = target_index(explanation, target)
        oracle = CachedOracle(explanation, model, batch_size=self.batch_size)
        rng = np.random.default_rng(self.seed)
        orders = [np.argsort(-a, kind="stable")] + [rng.permutation(k) for _ in range(self.n_random)]
        blocks = [m for o in orders for m in order_masks(o)]
        y = oracle(np.vstack(blocks))[:, col].reshape(len(orders), 2, k + 1)  # (order, del/ins, j)
        scale = float(y[1:].max() - y[1:].min())
        if scale == 0:
            raise EvaluationError(
                "deletion/insertion scores are undefined: the output does not change when "
                "components are removed (R = 0)."
            )
        return y, scale, oracle.new_calls

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
            ``{"norm_aopc_deletion_minus_random", "norm_aopc_insertion_minus_random",
            "norm_abc_minus_random", "norm_abc", "scale", "model_calls"}``; see the class docstring for
            each number.

        Examples
        --------
        >>> metric = DeletionInsertion()  # doctest: +SKIP
        >>> metric(exp, model, target="valence")  # doctest: +SKIP
        """
        y, scale, calls = self._evaluate(explanation, model, target, attribution, source)
        d, i = y[0, 0], y[0, 1]
        d_rand, i_rand = y[1:, 0].mean(axis=0), y[1:, 1].mean(axis=0)
        x = np.linspace(0.0, 1.0, y.shape[-1])
        area = np.trapezoid(i - d, x)
        area_rand = np.mean([np.trapezoid(yi - yd, x) for yd, yi in y[1:]])
        return {
            "norm_aopc_deletion_minus_random": float(np.mean(d_rand - d) / scale),
            "norm_aopc_insertion_minus_random": float(np.mean(i - i_rand) / scale),
            "norm_abc_minus_random": float((area - area_rand) / scale),
            "norm_abc": float(area / scale),
            "scale": scale,
            "model_calls": calls,
        }

    def curves(self, explanation, model=None, *, target: str, attribution=None, source=None) -> pd.DataFrame:
        """Tidy curves: ``curve`` (deletion/insertion), ``order`` (attribution / random mean), ``step`` j,
        ``fraction`` j/K, ``value`` f, ``value_norm`` ``(f - f(0)) / R``."""
        y, scale, _ = self._evaluate(explanation, model, target, attribution, source)
        k = y.shape[-1] - 1
        f0 = y[0, 1, 0]
        rows = []
        for c, curve in enumerate(("deletion", "insertion")):
            for label, values in (("attribution", y[0, c]), ("random_mean", y[1:, c].mean(axis=0))):
                for j, v in enumerate(values):
                    rows.append(
                        {
                            "curve": curve,
                            "order": label,
                            "step": j,
                            "fraction": j / k,
                            "value": float(v),
                            "value_norm": float((v - f0) / scale),
                        }
                    )
        return pd.DataFrame(rows)
