"""Attribution estimators over one mask -> output table: LIME, exact and sampled Shapley values, occlusion.

Arrays in, :class:`~mer_audiolime.explain.surrogate.Attribution` objects out; this module never touches
audio. Every estimator is a *source* with a **design** (the masks whose model outputs it needs, row 0 all on)
and an **estimate** (the attribution computed from those outputs). Because designs are plain masks, every
estimator draws its outputs from the same :class:`~mer_audiolime.explain.sampling.PredictionCache`: with all
``2**K`` coalitions cached (an enumerated explanation) every source costs no model call.

Sources (``f(S)`` is the model output with the components in ``S`` playing, ``N`` the budget of rows):

* ``"lime"`` -- the LIME surrogate (:func:`~mer_audiolime.explain.surrogate.fit_surrogate`, audioLIME's
  defaults). Enumerated (``2**K <= N``), each coalition counts ``N / 2**K`` times (``enumeration="expected"``,
  what LIME on N sampled rows converges to) or once (``"plain"``, audioLIME's ``num_samples="exhaustive"``).
  Sampled with ``sampler="grouped-adjusted"``: the same fit with a regression adjustment for the pairs
  inside each time segment and across neighbouring ones (:mod:`mer_audiolime.explain.adjustment`; same
  estimand).
* ``"shapley"`` -- exact Shapley values over all ``2**K`` coalitions,
  ``phi_k = sum_{S not containing k} |S|! (K - |S| - 1)! / K! (f(S + k) - f(S))``.
* ``"shapley_sampled"`` -- the permutation estimator (Castro, Gomez & Tejada 2009) with antithetic pairs
  (each sampled order and its reverse): ``phi_k`` is the mean over orders of ``f(prefix + k) - f(prefix)``.
  Chosen over KernelSHAP's weighted regression because every order's contributions telescope to
  ``f(all) - f(none)``, so efficiency holds exactly for any budget, a dummy component gets exactly 0, the
  estimate is unbiased, and the design is plain coalitions (the prefixes) that the cache shares; the reversed
  order pairs a small prefix with a large one, which lowers the variance for near-additive models. Budget:
  ``P = 2 floor((N - 2) / (2 (K - 1)))`` orders (at least 2), ``P (K - 1) + 2 <= N`` distinct coalitions.
* ``"leave_one_out"`` -- ``f(all) - f(all - k)`` (``K + 1`` masks).
* ``"add_one_in"`` -- ``f({k}) - f(none)`` (``K + 2`` masks).
* ``"chain:<source>"`` -- for a model with a linear head ``e = W m``: ``W @`` (the source's attributions of
  the mid-level features). Every source above is linear in the outputs (least squares, Shapley values, differences
  of outputs), so this equals the source applied to the emotion outputs directly.

Every attribution has an ``intercept`` (LIME: the ridge intercept; Shapley values and add-one-in: ``f(none)``;
leave-one-out: ``f(all) - sum(w)``) and a ``score``: the kernel-weighted R² of ``intercept + z . w`` on the
rows of its design (LIME: on its samples, as ``LimeBase`` reports it; others: on the distinct coalitions),
NaN for occlusion in the sampled regime, whose few masks it reproduces by construction.
"""

from __future__ import annotations

from math import comb
from typing import Mapping, Sequence

import numpy as np

from ..exceptions import ParameterError
from ..validation import check_choice
from .adjustment import fit_adjusted_surrogate
from .sampling import MAX_EXHAUSTIVE_K, all_coalitions, as_generator, expected_multiplicity, sample_masks
from .surrogate import DEFAULT_KERNEL_WIDTH, Attribution, fit_surrogate, weighted_r2

__all__ = [
    "ESTIMATORS", "OCCLUSION_MODES", "ENUMERATION_MODES", "DIRECT_SOURCES", "CHAIN", "source_for",
    "parse_source", "seed_dependent", "design", "estimate", "chain_source", "exact_shapley",
    "sampled_shapley", "shapley_permutations", "permutation_masks", "occlusion_masks", "occlusion_effects",
]

#: Values of ``explain(estimator=...)``.
ESTIMATORS = ("lime", "shapley", "occlusion")
#: Values of ``explain(occlusion=...)``.
OCCLUSION_MODES = ("leave_one_out", "add_one_in")
#: Values of ``explain(enumeration=...)``.
ENUMERATION_MODES = ("expected", "plain")
#: Sources computed on a target's own outputs.
DIRECT_SOURCES = ("lime", "shapley", "shapley_sampled", "leave_one_out", "add_one_in")
#: Prefix of chained sources (``"chain:lime"``).
CHAIN = "chain:"


def source_for(estimator: str, *, occlusion: str = "leave_one_out", exhaustive: bool) -> str:
    """The source an ``explain(estimator=...)`` call computes.

    Examples
    --------
    >>> source_for("shapley", exhaustive=False)
    'shapley_sampled'
    >>> source_for("occlusion", occlusion="add_one_in", exhaustive=True)
    'add_one_in'
    """
    check_choice(estimator, "estimator", ESTIMATORS)
    if estimator == "lime":
        return "lime"
    if estimator == "shapley":
        return "shapley" if exhaustive else "shapley_sampled"
    return check_choice(occlusion, "occlusion", OCCLUSION_MODES)


def parse_source(source: str) -> tuple:
    """``(chained, direct)`` of a canonical source: ``"chain:lime"`` -> ``(True, "lime")``."""
    if not isinstance(source, str):
        raise ParameterError(f"source must be a string, got {source!r}.")
    chained = source.startswith(CHAIN)
    direct = source[len(CHAIN):] if chained else source
    if direct not in DIRECT_SOURCES:
        raise ParameterError(
            f"unknown source {source!r}; sources are {list(DIRECT_SOURCES)}, each optionally prefixed with "
            f"{CHAIN!r} (or 'chain' alone for the chain of the explanation's own estimator)."
        )
    return chained, direct


def chain_source(source: str) -> str:
    """``"lime"`` -> ``"chain:lime"`` (idempotent)."""
    return source if source.startswith(CHAIN) else CHAIN + source


def seed_dependent(source: str, *, n_components: int, num_samples: int,
                   exhaustive: bool | None = None) -> bool:
    """Whether the masks of ``source`` (direct or chained) depend on the seed.

    Only sampled LIME and the sampled Shapley estimate do; exact Shapley values, occlusion and enumerated
    LIME are the same for every seed, so seed-stability metrics cannot vary for them. ``exhaustive=None``
    applies the default rule (enumerate when ``2**K <= N``).

    Examples
    --------
    >>> seed_dependent("lime", n_components=5, num_samples=1000), seed_dependent("lime", n_components=10,
    ...                                                                            num_samples=1000)
    (False, True)
    """
    _, direct = parse_source(source)
    if direct == "shapley_sampled":
        return True
    if direct != "lime":
        return False
    if exhaustive is None:
        k = int(n_components)
        exhaustive = k <= MAX_EXHAUSTIVE_K and 2**k <= int(num_samples)
    return not exhaustive


def shapley_permutations(n_components: int, num_samples: int, *, rng) -> np.ndarray:
    """Antithetic orders ``(P, K)`` for the permutation estimator within a budget of ``num_samples`` masks.

    ``P = 2 floor((N - 2) / (2 (K - 1)))`` (at least 2): each order costs its ``K - 1`` interior prefixes, and
    the all-on and all-off masks are shared. Rows ``2i`` and ``2i + 1`` are an order and its reverse.
    """
    k = int(n_components)
    if k < 1:
        raise ParameterError(f"n_components must be >= 1, got {n_components!r}.")
    gen = as_generator(rng)
    pairs = max(1, (int(num_samples) - 2) // (2 * max(k - 1, 1)))
    out = np.empty((2 * pairs, k), dtype=np.int64)
    for i in range(pairs):
        order = gen.permutation(k)
        out[2 * i], out[2 * i + 1] = order, order[::-1]
    return out


def permutation_masks(orders: np.ndarray) -> np.ndarray:
    """Prefix coalitions of each order: ``(1 + P (K + 1), K)`` uint8 -- the all-on row, then for every order
    ``p`` the ``K + 1`` masks of its prefixes ``p[:0] .. p[:K]``."""
    orders = np.asarray(orders)
    p, k = orders.shape
    prefixes = np.zeros((p, k + 1, k), dtype=np.uint8)
    rows = np.arange(p)
    for j in range(k):
        prefixes[:, j + 1] = prefixes[:, j]
        prefixes[rows, j + 1, orders[:, j]] = 1
    return np.vstack([np.ones((1, k), np.uint8), prefixes.reshape(p * (k + 1), k)])


def occlusion_masks(n_components: int, mode: str) -> np.ndarray:
    """Masks of an occlusion design, row 0 all on: ``leave_one_out`` -> ``[1, 1 - e_1, ..., 1 - e_K]``;
    ``add_one_in`` -> ``[1, 0, e_1, ..., e_K]``."""
    check_choice(mode, "occlusion", OCCLUSION_MODES)
    k = int(n_components)
    eye = np.eye(k, dtype=np.uint8)
    if mode == "leave_one_out":
        return np.vstack([np.ones((1, k), np.uint8), 1 - eye])
    return np.vstack([np.ones((1, k), np.uint8), np.zeros((1, k), np.uint8), eye])


def design(source: str, n_components: int, settings: Mapping, *, groups=None) -> np.ndarray:
    """Masks ``(M, K)`` whose outputs ``source`` needs (row 0 all on), from an explanation's ``settings``
    (``num_samples``, ``seed``, ``exhaustive``, ``sampler``) and, for the ``grouped`` sampler, the
    components' ``groups`` (their segment indices, ``Components.segments``). Chained sources use the design
    of their direct source."""
    _, direct = parse_source(source)
    k = int(n_components)
    n, seed = int(settings["num_samples"]), settings["seed"]
    if direct == "lime":
        return sample_masks(k, n, rng=seed, exhaustive=bool(settings["exhaustive"]),
                            sampler=settings.get("sampler", "uniform"), groups=groups)
    if direct == "shapley":
        return all_coalitions(k)
    if direct == "shapley_sampled":
        return permutation_masks(shapley_permutations(k, n, rng=seed))
    return occlusion_masks(k, direct)


def _table(masks: np.ndarray, outputs: np.ndarray) -> np.ndarray:
    """Outputs indexed by coalition code ``sum_k z_k 2**k``; every one of the ``2**K`` coalitions required."""
    z = np.asarray(masks, dtype=np.int64)
    y = np.asarray(outputs, dtype=np.float64)
    k = z.shape[1]
    if k > MAX_EXHAUSTIVE_K:
        raise ParameterError(f"exact Shapley values need 2**{k} coalitions; use the sampled estimate.")
    table = np.full((2**k,) + y.shape[1:], np.nan)
    table[z @ (1 << np.arange(k))] = y
    if np.isnan(table).any():
        missing = int(np.isnan(table.reshape(2**k, -1)).any(axis=1).sum())
        raise ParameterError(f"exact Shapley values need all 2**{k} coalitions; {missing} are missing.")
    return table


def exact_shapley(masks: np.ndarray, outputs: np.ndarray) -> np.ndarray:
    """Exact Shapley values ``(K, T)`` of the game ``S -> outputs`` given on all ``2**K`` coalitions.

    ``phi_k = sum_{S not containing k} w(|S|) (f(S + k) - f(S))`` with ``w(s) = s! (K - s - 1)! / K!
    = 1 / (K C(K - 1, s))``. ``masks`` may list the coalitions in any order (duplicates allowed).

    Examples
    --------
    >>> z = np.array([[1, 1], [1, 0], [0, 1], [0, 0]])
    >>> exact_shapley(z, np.array([[3.0], [1.0], [1.0], [0.0]])).ravel().tolist()   # f = 1 each + 1 together
    [1.5, 1.5]
    """
    y = np.asarray(outputs, dtype=np.float64)
    y2 = y[:, None] if y.ndim == 1 else y
    k = np.asarray(masks).shape[1]
    table = _table(masks, y2)
    codes = np.arange(2**k)
    sizes = np.array([bin(c).count("1") for c in codes])
    w = np.array([1.0 / (k * comb(k - 1, s)) for s in range(k)])
    phi = np.empty((k, y2.shape[1]))
    for i in range(k):
        without = codes[((codes >> i) & 1) == 0]
        phi[i] = w[sizes[without]] @ (table[without | (1 << i)] - table[without])
    return phi if y.ndim > 1 else phi[:, 0]


def sampled_shapley(masks: np.ndarray, outputs: np.ndarray) -> np.ndarray:
    """Permutation estimate ``(K, T)`` from a :func:`permutation_masks` design and its outputs.

    Each order contributes ``f(prefix + k) - f(prefix)`` to the component ``k`` it adds; ``phi_k`` is the mean
    over orders. The contributions of one order sum to ``f(all) - f(none)``, so the estimate is efficient.
    """
    z = np.asarray(masks, dtype=np.int64)
    y = np.asarray(outputs, dtype=np.float64)
    y2 = y[:, None] if y.ndim == 1 else y
    k = z.shape[1]
    if (z.shape[0] - 1) % (k + 1) or z.shape[0] < k + 2:
        raise ParameterError(
            "masks are not a permutation design (1 + P (K + 1) rows, see permutation_masks).")
    zp = z[1:].reshape(-1, k + 1, k)
    yp = y2[1:].reshape(zp.shape[0], k + 1, -1)
    step = np.diff(zp, axis=1)  # (P, K, K): one +1 per step
    if not (np.all(step.sum(axis=2) == 1) and np.all(step >= 0)):
        raise ParameterError("masks are not a permutation design: each step must add exactly one component.")
    added = step.argmax(axis=2)  # (P, K) component added at each step
    contrib = np.diff(yp, axis=1)  # (P, K, T)
    phi = np.zeros((k, y2.shape[1]))
    np.add.at(phi, added.ravel(), contrib.reshape(-1, y2.shape[1]))
    phi /= zp.shape[0]
    return phi if y.ndim > 1 else phi[:, 0]


def occlusion_effects(masks: np.ndarray, outputs: np.ndarray, mode: str) -> tuple:
    """``(effects (K, T), intercept (T,))`` from an :func:`occlusion_masks` design and its outputs."""
    y = np.asarray(outputs, dtype=np.float64)
    y2 = y[:, None] if y.ndim == 1 else y
    k = np.asarray(masks).shape[1]
    if not np.array_equal(np.asarray(masks, dtype=np.uint8), occlusion_masks(k, mode)):
        raise ParameterError(f"masks are not the {mode} design (see occlusion_masks).")
    if mode == "leave_one_out":
        effects = y2[0][None, :] - y2[1:]
        return effects, y2[0] - effects.sum(axis=0)
    return y2[2:] - y2[1][None, :], y2[1]


def _distinct(masks: np.ndarray, outputs: np.ndarray) -> tuple:
    _, idx = np.unique(np.asarray(masks, dtype=np.uint8), axis=0, return_index=True)
    idx = np.sort(idx)
    return np.asarray(masks)[idx], np.asarray(outputs)[idx]


def estimate(
    source: str,
    masks: np.ndarray,
    outputs: np.ndarray,
    *,
    output_names: Sequence[str],
    component_names: Sequence[str],
    targets: Sequence[str],
    settings: Mapping,
    score_on: tuple | None = None,
    groups=None,
) -> dict:
    """Attributions of ``targets`` by a direct ``source`` from its design's outputs.

    Parameters
    ----------
    source : str
        One of :data:`DIRECT_SOURCES`.
    masks : np.ndarray, shape (M, K)
        :func:`design` of ``source``.
    outputs : np.ndarray, shape (M, T)
        Model outputs of every mask.
    output_names, component_names, targets : sequence of str
    settings : mapping
        ``num_samples``, ``seed``, ``exhaustive``, ``kernel_width``, ``alpha``, ``enumeration``.
    score_on : (masks, outputs), optional
        Rows on which the ``score`` of a non-LIME source is computed (e.g. every coalition of an enumerated
        explanation); default: the distinct rows of the design (NaN for occlusion, which reproduces them).
    groups : sequence of int, optional
        Time segment of each component (``Components.segments``). With ``settings["sampler"] ==
        "grouped-adjusted"`` sampled LIME is adjusted for the pairs inside each segment and across
        neighbouring segments (:func:`~mer_audiolime.explain.adjustment.fit_adjusted_surrogate`).

    Returns
    -------
    dict of str to Attribution
        ``info["source"] == source``.

    Examples
    --------
    >>> z = occlusion_masks(2, "leave_one_out")
    >>> a = estimate("leave_one_out", z, z @ np.array([[2.0], [1.0]]), output_names=["y"],
    ...              component_names=["a", "b"], targets=["y"], settings={"seed": 0, "kernel_width": 0.25,
    ...              "exhaustive": False, "num_samples": 3})["y"]
    >>> a.weights.tolist(), a.intercept
    ([2.0, 1.0], 0.0)
    """
    chained, direct = parse_source(source)
    if chained:
        raise ParameterError("estimate computes direct sources; use chain_attributions for chained ones.")
    names = list(output_names)
    unknown = [t for t in targets if t not in names]
    if unknown:
        raise ParameterError(f"unknown target(s) {unknown}; the model's outputs are {names}.")
    z = np.asarray(masks, dtype=np.uint8)
    y = np.asarray(outputs, dtype=np.float64)
    if y.ndim != 2 or y.shape != (z.shape[0], len(names)):
        raise ParameterError(f"outputs must have shape ({z.shape[0]}, {len(names)}), got {y.shape}.")
    if not np.all(np.isfinite(y)):
        raise ParameterError("outputs contain NaN or infinite values; no attribution can be computed.")
    k = z.shape[1]
    width = float(settings.get("kernel_width", DEFAULT_KERNEL_WIDTH))
    seed = settings.get("seed")
    if direct == "lime":
        exhaustive = bool(settings.get("exhaustive", False))
        plain = settings.get("enumeration", "expected") == "plain"
        m = 1.0 if (plain or not exhaustive) else expected_multiplicity(k, int(settings["num_samples"]))
        if not exhaustive and settings.get("sampler") == "grouped-adjusted":
            return fit_adjusted_surrogate(z, y, groups=groups, output_names=names,
                                          component_names=component_names, targets=list(targets),
                                          kernel_width=width, alpha=float(settings.get("alpha", 1.0)),
                                          seed=None if seed is None else int(seed))
        return fit_surrogate(z, y, output_names=names, component_names=component_names, targets=list(targets),
                             kernel_width=width, alpha=float(settings.get("alpha", 1.0)), multiplicity=m,
                             seed=None if seed is None else int(seed))
    if direct == "shapley":
        effects = exact_shapley(z, y)
        intercept = _table(z, y)[0]
    elif direct == "shapley_sampled":
        effects = sampled_shapley(z, y)
        intercept = y[1]  # f(none): the empty prefix of the first order
    else:
        effects, intercept = occlusion_effects(z, y, direct)
    if score_on is not None:
        score_rows = _distinct(*score_on)
    else:
        score_rows = None if direct in OCCLUSION_MODES else _distinct(z, y)
    out = {}
    for target in targets:
        col = names.index(target)
        w = effects[:, col]
        b = float(intercept[col])
        score = float("nan")
        if score_rows is not None:
            score = weighted_r2(score_rows[0], score_rows[1][:, col], weights=w, intercept=b,
                                kernel_width=width)
        out[target] = Attribution(
            target=target, component_names=list(component_names), weights=np.array(w, dtype=np.float64),
            intercept=b, score=score, local_prediction=float(b + w.sum()), prediction=float(y[0, col]),
            num_samples=int(len(np.unique(z, axis=0))), seed=seed, kernel_width=width,
            info={"source": direct, "exact": direct in ("shapley", "leave_one_out", "add_one_in")},
        )
    return out
