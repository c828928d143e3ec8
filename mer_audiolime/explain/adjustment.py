"""LIME's surrogate with a regression adjustment for the interactions inside time segments.

Arrays in, attributions out (no audio). The LIME surrogate of sampled masks estimates the *population fit*
``argmin_{b, w} N E_z[pi(z) (f(z) - b - w.z)^2] + alpha |w|^2`` over ``z`` uniform on ``{0,1}^K`` (N rows,
ridge ``alpha``, LIME's kernel ``pi``). Its seed-to-seed noise comes from the part of ``f`` that is not
additive in the components; in audio models most of that is the pairwise interactions of the stems of one
time segment, which share spectrogram frames.

The adjusted estimate removes that part of the noise and keeps the estimand:

1. fit an *interaction model* ``h(z) = b + w.z + sum_{(a, c) in P} v_ac z_a z_c`` to the sampled rows by
   kernel-weighted ridge regression (penalty ``alpha`` on ``w``, ``pair_alpha`` on ``v``), where ``P`` holds
   the pairs of components inside one group (time segment) and, by default, in neighbouring groups
   (:func:`interaction_terms` also offers the terms of higher order inside a group and the pairs of distant
   groups: on validation data neither made the estimate more stable, ``benchmarks/select_interactions.py``);
2. compute the population fit of ``h`` exactly: ``pi`` depends on ``|z|`` only, so every moment the fit
   needs (``E[pi z_i z_j]``, ``E[pi z_i z_a z_c]``, ...) is a sum over the ``K + 1`` mask sizes
   (:func:`size_moments`); no mask is drawn and no model is called;
3. add LIME's own fit (``LimeBase``, audioLIME's call) of the residual ``f - h`` on the sampled rows.

The estimate is ``lime(f - h; Z) + population(h)``. Where ``f`` is of the form of ``h`` it is exact on any
rows that identify ``h``'s coefficients (without ridge); where it is not, the residual's fit carries the
rest, so the estimate converges to the same population fit as LIME on uniform rows (the regression
estimator of survey sampling, Cassel, Särndal & Wretman 1976; for Monte Carlo, control variates fitted on
the same draws). Every step is linear in the outputs, so the mid-level chain stays exact. It is used by
``sampler="grouped-adjusted"`` (the ``grouped`` masks, whose blocks are strength-3 arrays laid out for the
segments; :mod:`mer_audiolime.explain.samplers`).
"""

from __future__ import annotations

from functools import lru_cache
from itertools import combinations
from math import comb
from typing import Sequence

import numpy as np

from ..exceptions import ParameterError
from .samplers import check_groups
from .surrogate import DEFAULT_KERNEL_WIDTH, Attribution, fit_surrogate, kernel_weights, weighted_r2

__all__ = ["PAIR_ALPHA", "NEIGHBOURS", "WITHIN_ORDER", "HIGHER_ALPHA", "DISTANT_ALPHA",
           "interaction_pairs", "interaction_terms", "size_moments", "population_fit",
           "fit_interaction_model", "fit_adjusted_surrogate"]

#: Ridge penalty on the pair coefficients of the interaction model, and whether the model also holds the
#: pairs of neighbouring segments: chosen by the rule of ``benchmarks/select_adjustment.py`` on validation
#: data (clip synth0001, 20 seeds, N = 250; ``benchmarks/results/select_adjustment.json``): of 8 candidates,
#: neighbours with 1.0 scored highest (1.853 against 1.846 for segment pairs alone and 1.804 unadjusted).
PAIR_ALPHA = 1.0
NEIGHBOURS = True
#: Highest order of the modelled terms inside one segment, the penalty on those above 2, and the penalty on
#: the pairs of distant segments (None: not modelled).
WITHIN_ORDER = 2
HIGHER_ALPHA = 1.0
DISTANT_ALPHA = None


def interaction_pairs(groups, *, neighbours: bool = NEIGHBOURS) -> np.ndarray:
    """Pairs ``(a, c)``, ``a < c``, of components in the same group (and, with ``neighbours``, in groups
    that differ by 1).

    Parameters
    ----------
    groups : sequence of int or None
        Group of each component (for stems x segments, :attr:`Components.segments`). None: no pairs.
    neighbours : bool

    Returns
    -------
    np.ndarray of int64, shape (P, 2)

    Examples
    --------
    >>> interaction_pairs([0, 0, 1, 1], neighbours=False).tolist()
    [[0, 1], [2, 3]]
    >>> len(interaction_pairs([0, 0, 1, 1], neighbours=True))
    6
    """
    if groups is None:
        return np.zeros((0, 2), dtype=np.int64)
    g = np.asarray(groups, dtype=np.int64)
    limit = 1 if neighbours else 0
    pairs = [(a, c) for a, c in combinations(range(len(g)), 2) if abs(g[a] - g[c]) <= limit]
    return np.asarray(pairs, dtype=np.int64).reshape(-1, 2)


def interaction_terms(groups, *, neighbours: bool = NEIGHBOURS, within_order: int = WITHIN_ORDER,
                      distant: bool = False) -> tuple:
    """Interaction terms of the adjustment's model and the penalty class of each.

    Parameters
    ----------
    groups : sequence of int or None
        Group of each component (:attr:`Components.segments`). None: no terms.
    neighbours : bool
        The pairs of components in neighbouring groups (class ``"pair"``).
    within_order : int
        Highest order of the terms inside one group: 2 for pairs, 3 adds triples, up to the group size
        (class ``"pair"`` for pairs, ``"higher"`` above).
    distant : bool
        Also the pairs of components in groups further apart (class ``"distant"``).

    Returns
    -------
    (list of tuple of int, list of str)
        The terms (sorted index tuples) and their classes.

    Examples
    --------
    >>> terms, kinds = interaction_terms([0, 0, 0, 1], within_order=3, neighbours=False)
    >>> terms, kinds
    ([(0, 1), (0, 2), (1, 2), (0, 1, 2)], ['pair', 'pair', 'pair', 'higher'])
    """
    if int(within_order) < 2:
        raise ParameterError(f"within_order must be an integer >= 2 (2: pairs), got {within_order!r}.")
    if groups is None:
        return [], []
    g = np.asarray(groups, dtype=np.int64)
    terms = [tuple(int(i) for i in p) for p in interaction_pairs(g, neighbours=neighbours)]
    kinds = ["pair"] * len(terms)
    members = [np.flatnonzero(g == v).tolist() for v in np.unique(g)]
    for order in range(3, int(within_order) + 1):
        for idx in members:
            terms += list(combinations(idx, order))
            kinds += ["higher"] * comb(len(idx), order)
    if distant:
        far = [(a, c) for a, c in combinations(range(len(g)), 2) if abs(g[a] - g[c]) > 1]
        terms += far
        kinds += ["distant"] * len(far)
    return terms, kinds


@lru_cache(maxsize=64)
def size_moments(n_components: int, kernel_width: float = DEFAULT_KERNEL_WIDTH,
                 max_order: int = 3) -> np.ndarray:
    """``mu_j = E[pi(z) z_1 ... z_j]`` for ``j = 0..max_order`` and ``z`` uniform on ``{0,1}^K``.

    LIME's kernel depends on the mask only through ``s = |z|`` (its cosine distance to the all-on mask is
    ``1 - sqrt(s / K)``; the empty mask is at distance 1), so
    ``mu_j = 2**-K sum_s pi(s) C(K - j, s - j)`` (zero for ``j > K``).

    Examples
    --------
    >>> mu = size_moments(3)
    >>> bool(np.isclose(mu[3], kernel_weights(np.ones((1, 3)))[0] / 8))
    True
    """
    k = int(n_components)
    # pi(s) from the same function the fit uses: one representative mask per size s
    reps = (np.arange(k)[None, :] < np.arange(k + 1)[:, None]).astype(np.float64)
    pi = kernel_weights(reps, kernel_width=float(kernel_width))
    out = np.zeros(int(max_order) + 1)
    for j in range(min(int(max_order), k) + 1):
        out[j] = sum(float(pi[s]) * (comb(k - j, s - j) / 2**k) for s in range(j, k + 1))
    return out


def _term_incidence(terms, k: int) -> np.ndarray:
    """``(P, K)`` 0/1 incidence of the terms (index tuples, or a ``(P, 2)`` array of pairs)."""
    if isinstance(terms, np.ndarray):
        terms = terms.reshape(-1, terms.shape[-1] if terms.ndim > 1 else 2).tolist()
    inc = np.zeros((len(terms), k))
    for row, term in enumerate(terms):
        inc[row, list(term)] = 1.0
    return inc


def population_fit(intercept: np.ndarray, main: np.ndarray, term_coefs: np.ndarray, terms, *,
                   n_rows: int, alpha: float = 1.0, kernel_width: float = DEFAULT_KERNEL_WIDTH) -> tuple:
    """LIME's population fit of ``h(z) = intercept + main.z + sum_S term_coefs[S] prod_{i in S} z_i``.

    Minimises ``n_rows E[pi (h - b - w.z)^2] + alpha |w|^2`` over ``z`` uniform on ``{0,1}^K``: what the
    surrogate of ``n_rows`` sampled masks converges to, computed exactly from :func:`size_moments`
    (``E[pi z_i z_S] = mu_{|S + i|}``).

    Parameters
    ----------
    intercept : np.ndarray, shape (T,)
    main : np.ndarray, shape (T, K)
    term_coefs : np.ndarray, shape (T, P)
    terms : sequence of tuple of int, or np.ndarray of shape (P, 2)
        The interaction terms (sets of at least two components; :func:`interaction_terms`).
    n_rows : int
    alpha : float
    kernel_width : float

    Returns
    -------
    (weights (T, K), intercepts (T,))

    Examples
    --------
    >>> w, b = population_fit(np.array([1.0]), np.array([[2.0, -1.0]]), np.zeros((1, 0)),
    ...                       np.zeros((0, 2), int), n_rows=1000, alpha=0.0)
    >>> np.round(w, 9).tolist(), np.round(b, 9).tolist()
    ([[2.0, -1.0]], [1.0])
    """
    main = np.atleast_2d(np.asarray(main, dtype=np.float64))
    t, k = main.shape
    b0 = np.asarray(intercept, dtype=np.float64).reshape(t)
    v = np.asarray(term_coefs, dtype=np.float64).reshape(t, -1)
    inc = _term_incidence(terms, k)
    sizes = inc.sum(axis=1).astype(np.int64)
    mu = size_moments(k, float(kernel_width), int(sizes.max(initial=1)) + 1)
    mu0, mu1, mu2 = mu[0], mu[1], mu[2]
    sum_w = main.sum(axis=1)
    e_h = b0 * mu0 + mu1 * sum_w + v @ mu[sizes]  # E[pi h]
    # E[pi z_i z_S] is mu_|S| when i is in S, else mu_(|S|+1)
    e_zs = inc * mu[sizes][:, None] + (1.0 - inc) * mu[sizes + 1][:, None]
    e_zh = (b0 * mu1)[:, None] + main * (mu1 - mu2) + (mu2 * sum_w)[:, None] + v @ e_zs  # E[pi z_i h]
    c = e_zh - mu1 * e_h[:, None] / mu0
    gram = (mu1 - mu2) * np.eye(k) + (mu2 - mu1**2 / mu0) * np.ones((k, k))
    n = float(n_rows)
    w = np.linalg.solve(n * gram + float(alpha) * np.eye(k), n * c.T).T
    b = (e_h - mu1 * w.sum(axis=1)) / mu0
    return w, b


def _term_features(z: np.ndarray, inc: np.ndarray) -> np.ndarray:
    """``prod_{i in S} z_i`` for every term (0/1 masks: all members on)."""
    return (z @ inc.T >= inc.sum(axis=1) - 0.5).astype(np.float64) if len(inc) else np.zeros((len(z), 0))


def fit_interaction_model(masks: np.ndarray, outputs: np.ndarray, terms, *,
                          alpha: float = 1.0, pair_alpha: float = PAIR_ALPHA, term_alpha=None,
                          kernel_width: float = DEFAULT_KERNEL_WIDTH) -> tuple:
    """Kernel-weighted ridge fit of ``b + w.z + sum_S v_S prod_{i in S} z_i`` to every output column.

    Penalties ``alpha`` on ``w`` and ``pair_alpha`` (or ``term_alpha``, one per term) on ``v``; the
    intercept is not penalised (as in ``sklearn.linear_model.Ridge`` with sample weights).

    Parameters
    ----------
    masks : np.ndarray, shape (N, K)
    outputs : np.ndarray, shape (N, T)
    terms : sequence of tuple of int, or np.ndarray of shape (P, 2)
        Modelled interaction terms (:func:`interaction_terms`, :func:`interaction_pairs`).
    alpha, pair_alpha : float
        Ridge penalties on the main effects and on the term coefficients.
    term_alpha : array-like of float, shape (P,), optional
        One penalty per term, instead of ``pair_alpha`` for all.
    kernel_width : float
        LIME's kernel width (the sample weights are LIME's kernel values).

    Returns
    -------
    (intercepts (T,), main (T, K), term_coefs (T, P))
    """
    z = np.asarray(masks, dtype=np.float64)
    y = np.asarray(outputs, dtype=np.float64)
    inc = _term_incidence(terms, z.shape[1])
    x = np.concatenate([z, _term_features(z, inc)], axis=1)
    pi = kernel_weights(z, kernel_width=kernel_width)
    xm = pi @ x / pi.sum()
    ym = pi @ y / pi.sum()
    xc, yc = x - xm, y - ym
    per_term = np.full(len(inc), float(pair_alpha)) if term_alpha is None else \
        np.broadcast_to(np.asarray(term_alpha, dtype=np.float64), (len(inc),))
    penalty = np.concatenate([np.full(z.shape[1], float(alpha)), per_term])
    lhs = xc.T @ (pi[:, None] * xc) + np.diag(penalty)
    rhs = xc.T @ (pi[:, None] * yc)
    if alpha > 0:  # positive definite: a Cholesky-based solve
        from scipy.linalg import solve

        beta = solve(lhs, rhs, assume_a="pos")  # (K + P, T)
    else:
        beta = np.linalg.lstsq(lhs, rhs, rcond=None)[0]
    k = z.shape[1]
    return ym - xm @ beta, beta[:k].T, beta[k:].T


def fit_adjusted_surrogate(
    masks: np.ndarray,
    outputs: np.ndarray,
    *,
    groups,
    output_names: Sequence[str],
    component_names: Sequence[str],
    targets: Sequence[str] | None = None,
    kernel_width: float = DEFAULT_KERNEL_WIDTH,
    alpha: float = 1.0,
    pair_alpha: float = PAIR_ALPHA,
    neighbours: bool = NEIGHBOURS,
    within_order: int = WITHIN_ORDER,
    higher_alpha: float = HIGHER_ALPHA,
    distant_alpha: float | None = DISTANT_ALPHA,
    seed=None,
) -> dict:
    """LIME attributions of sampled masks, adjusted for the pairs inside each group (module docstring).

    Parameters
    ----------
    masks : np.ndarray, shape (N, K)
        Sampled masks, row 0 all on.
    outputs : np.ndarray, shape (N, T)
    groups : sequence of int or None
        Group (time segment) of each component, neighbouring groups differing by 1. Without groups, or
        with no two components in one (or, with ``neighbours``, adjacent) group, there is nothing to adjust
        and the result is :func:`~mer_audiolime.explain.surrogate.fit_surrogate`'s.
    output_names, component_names, targets
        As for :func:`~mer_audiolime.explain.surrogate.fit_surrogate`.
    kernel_width, alpha : float
        LIME's kernel width and ridge penalty (audioLIME: 0.25 and 1).
    pair_alpha : float
        Ridge penalty on the interaction model's pair coefficients.
    neighbours : bool
        Also model the pairs of neighbouring groups.
    within_order : int
        Highest order of the modelled terms inside a group (2: pairs; :func:`interaction_terms`).
    higher_alpha : float
        Ridge penalty on the terms of order 3 and above.
    distant_alpha : float, optional
        Ridge penalty on the pairs of groups further apart; None: they are not modelled.
    seed : int, optional
        Recorded in the attributions.

    Returns
    -------
    dict of str to Attribution
        ``info["source"] == "lime"``; ``info["adjustment"]`` names the adjustment and ``info["n_pairs"]``
        the number of modelled pairs. ``score`` is the kernel-weighted R² of the adjusted additive model on
        the sampled rows.
    """
    z = np.asarray(masks, dtype=np.float64)
    y = np.asarray(outputs, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    penalties = {"pair": pair_alpha, "higher": higher_alpha, "distant": distant_alpha}
    for label, value in (("pair_alpha", pair_alpha), ("higher_alpha", higher_alpha),
                         ("distant_alpha", distant_alpha)):
        if value is not None and not (np.isfinite(value) and value > 0):
            raise ParameterError(f"{label} must be a positive number, got {value!r}.")
    if z.ndim == 2:
        groups = check_groups(groups, z.shape[1])
    terms, kinds = interaction_terms(groups if z.ndim == 2 else None, neighbours=neighbours,
                                     within_order=within_order, distant=distant_alpha is not None)
    common = dict(output_names=output_names, component_names=component_names, targets=targets,
                  kernel_width=kernel_width, alpha=alpha, seed=seed)
    if not terms:
        return fit_surrogate(z, y, **common)
    if z.shape[0] != y.shape[0]:
        raise ParameterError(f"masks (N, K) and outputs (N, T) must agree in N, got {z.shape} and {y.shape}.")
    if not np.all((z == 0) | (z == 1)):
        raise ParameterError("the adjusted fit needs 0/1 masks (its population fit is over {0,1}^K); "
                             "pass the sampled masks, or use fit_surrogate for other perturbations.")
    term_alpha = np.array([penalties[kind] for kind in kinds], dtype=np.float64)
    b_h, w_h, v_h = fit_interaction_model(z, y, terms, alpha=alpha, term_alpha=term_alpha,
                                          kernel_width=kernel_width)
    fitted = b_h + z @ w_h.T + _term_features(z, _term_incidence(terms, z.shape[1])) @ v_h.T
    residual = fit_surrogate(z, y - fitted, prediction=y[0], **common)
    w_pop, b_pop = population_fit(b_h, w_h, v_h, terms, n_rows=z.shape[0], alpha=alpha,
                                  kernel_width=kernel_width)
    # what was modelled, e.g. "segment-pairs+neighbours" (the defaults), "...+order3", "...+distant-pairs"
    label = "segment-pairs" + ("+neighbours" if neighbours else "") \
        + (f"+order{int(within_order)}" if "higher" in kinds else "") \
        + ("+distant-pairs" if "distant" in kinds else "")
    names = list(output_names)
    out = {}
    for target, att in residual.items():
        col = names.index(target)
        weights = att.weights + w_pop[col]
        intercept = att.intercept + float(b_pop[col])
        info = dict(att.info)
        info.update(adjustment=label,
                    pair_alpha=float(pair_alpha), n_pairs=int(kinds.count("pair")),
                    within_order=int(within_order), n_terms=int(len(terms)))
        out[target] = Attribution(
            target=target, component_names=list(component_names), weights=weights, intercept=intercept,
            score=weighted_r2(z, y[:, col], weights=weights, intercept=intercept, kernel_width=kernel_width),
            local_prediction=float(intercept + weights.sum()), prediction=float(y[0, col]),
            num_samples=int(z.shape[0]), seed=seed, kernel_width=float(kernel_width), info=info)
    return out
