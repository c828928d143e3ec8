"""LIME's surrogate with a regression adjustment for the interactions inside time segments.

Arrays in, attributions out (no audio). The LIME surrogate of sampled masks estimates the *population fit*
``argmin_{b, w} N E_z[pi(z) (f(z) - b - w.z)^2] + alpha |w|^2`` over ``z`` uniform on ``{0,1}^K`` (N rows,
ridge ``alpha``, LIME's kernel ``pi``). Its seed-to-seed noise comes from the part of ``f`` that is not
additive in the components; in audio models most of that is the pairwise interactions of the stems of one
time segment, which share spectrogram frames.

The adjusted estimate removes that part of the noise and keeps the estimand:

1. fit an *interaction model* ``h(z) = b + w.z + sum_{(a, c) in P} v_ac z_a z_c`` to the sampled rows by
   kernel-weighted ridge regression (penalty ``alpha`` on ``w``, ``pair_alpha`` on ``v``), where ``P`` holds
   the pairs of components inside one group (time segment) and, by default, in neighbouring groups;
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

__all__ = ["PAIR_ALPHA", "NEIGHBOURS", "interaction_pairs", "size_moments", "population_fit",
           "fit_interaction_model", "fit_adjusted_surrogate"]

#: Ridge penalty on the pair coefficients of the interaction model, and whether the model also holds the
#: pairs of neighbouring segments: chosen by the rule of ``benchmarks/select_adjustment.py`` on validation
#: data (clip synth0001, 20 seeds, N = 250; ``benchmarks/results/select_adjustment.json``): of 8 candidates,
#: neighbours with 1.0 scored highest (1.853 against 1.846 for segment pairs alone and 1.804 unadjusted).
PAIR_ALPHA = 1.0
NEIGHBOURS = True


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


@lru_cache(maxsize=64)
def size_moments(n_components: int, kernel_width: float = DEFAULT_KERNEL_WIDTH) -> np.ndarray:
    """``mu_j = E[pi(z) z_1 ... z_j]`` for ``j = 0..3`` and ``z`` uniform on ``{0,1}^K``.

    LIME's kernel depends on the mask only through ``s = |z|`` (its cosine distance to the all-on mask is
    ``1 - sqrt(s / K)``; the empty mask is at distance 1), so
    ``mu_j = 2**-K sum_s pi(s) C(K - j, s - j)``.

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
    out = np.zeros(4)
    for j in range(4):
        if j > k:
            break
        out[j] = sum(float(pi[s]) * (comb(k - j, s - j) / 2**k) for s in range(j, k + 1))
    return out


def population_fit(intercept: np.ndarray, main: np.ndarray, pair_coefs: np.ndarray, pairs: np.ndarray, *,
                   n_rows: int, alpha: float = 1.0, kernel_width: float = DEFAULT_KERNEL_WIDTH) -> tuple:
    """LIME's population fit of ``h(z) = intercept + main.z + sum_p pair_coefs[p] z_a z_c``.

    Minimises ``n_rows E[pi (h - b - w.z)^2] + alpha |w|^2`` over ``z`` uniform on ``{0,1}^K``: what the
    surrogate of ``n_rows`` sampled masks converges to, computed exactly from :func:`size_moments`.

    Parameters
    ----------
    intercept : np.ndarray, shape (T,)
    main : np.ndarray, shape (T, K)
    pair_coefs : np.ndarray, shape (T, P)
    pairs : np.ndarray, shape (P, 2)
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
    v = np.asarray(pair_coefs, dtype=np.float64).reshape(t, -1)
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    mu0, mu1, mu2, mu3 = size_moments(k, float(kernel_width))
    sum_w, sum_v = main.sum(axis=1), v.sum(axis=1)
    # sum of the pair coefficients that involve component i
    touching = np.zeros((t, k))
    for col in (0, 1):
        np.add.at(touching.T, pairs[:, col], v.T)
    e_h = b0 * mu0 + mu1 * sum_w + mu2 * sum_v  # E[pi h]
    e_zh = (b0 * mu1)[:, None] + main * (mu1 - mu2) + (mu2 * sum_w + mu3 * sum_v)[:, None] \
        + (mu2 - mu3) * touching  # E[pi z_i h]
    c = e_zh - mu1 * e_h[:, None] / mu0
    gram = (mu1 - mu2) * np.eye(k) + (mu2 - mu1**2 / mu0) * np.ones((k, k))
    n = float(n_rows)
    w = np.linalg.solve(n * gram + float(alpha) * np.eye(k), n * c.T).T
    b = (e_h - mu1 * w.sum(axis=1)) / mu0
    return w, b


def _pair_features(z: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    return z[:, pairs[:, 0]] * z[:, pairs[:, 1]]


def fit_interaction_model(masks: np.ndarray, outputs: np.ndarray, pairs: np.ndarray, *,
                          alpha: float = 1.0, pair_alpha: float = PAIR_ALPHA,
                          kernel_width: float = DEFAULT_KERNEL_WIDTH) -> tuple:
    """Kernel-weighted ridge fit of ``b + w.z + sum_p v_p z_a z_c`` to every output column.

    Penalties ``alpha`` on ``w`` and ``pair_alpha`` on ``v``; the intercept is not penalised (as in
    ``sklearn.linear_model.Ridge`` with sample weights).

    Parameters
    ----------
    masks : np.ndarray, shape (N, K)
    outputs : np.ndarray, shape (N, T)
    pairs : np.ndarray, shape (P, 2)
        Modelled pairs (:func:`interaction_pairs`).
    alpha, pair_alpha : float
        Ridge penalties on the main effects and on the pair coefficients.
    kernel_width : float
        LIME's kernel width (the sample weights are LIME's kernel values).

    Returns
    -------
    (intercepts (T,), main (T, K), pair_coefs (T, P))
    """
    z = np.asarray(masks, dtype=np.float64)
    y = np.asarray(outputs, dtype=np.float64)
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    x = np.concatenate([z, _pair_features(z, pairs)], axis=1)
    pi = kernel_weights(z, kernel_width=kernel_width)
    xm = pi @ x / pi.sum()
    ym = pi @ y / pi.sum()
    xc, yc = x - xm, y - ym
    penalty = np.concatenate([np.full(z.shape[1], float(alpha)), np.full(len(pairs), float(pair_alpha))])
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
    if not (np.isfinite(pair_alpha) and pair_alpha > 0):
        raise ParameterError(f"pair_alpha must be a positive number, got {pair_alpha!r}.")
    if z.ndim == 2:
        groups = check_groups(groups, z.shape[1])
    pairs = interaction_pairs(groups, neighbours=neighbours) if z.ndim == 2 else np.zeros((0, 2), np.int64)
    common = dict(output_names=output_names, component_names=component_names, targets=targets,
                  kernel_width=kernel_width, alpha=alpha, seed=seed)
    if len(pairs) == 0:
        return fit_surrogate(z, y, **common)
    if z.shape[0] != y.shape[0]:
        raise ParameterError(f"masks (N, K) and outputs (N, T) must agree in N, got {z.shape} and {y.shape}.")
    b_h, w_h, v_h = fit_interaction_model(z, y, pairs, alpha=alpha, pair_alpha=pair_alpha,
                                          kernel_width=kernel_width)
    fitted = b_h + z @ w_h.T + _pair_features(z, pairs) @ v_h.T
    residual = fit_surrogate(z, y - fitted, prediction=y[0], **common)
    w_pop, b_pop = population_fit(b_h, w_h, v_h, pairs, n_rows=z.shape[0], alpha=alpha,
                                  kernel_width=kernel_width)
    names = list(output_names)
    out = {}
    for target, att in residual.items():
        col = names.index(target)
        weights = att.weights + w_pop[col]
        intercept = att.intercept + float(b_pop[col])
        info = dict(att.info)
        info.update(adjustment="segment-pairs" + ("+neighbours" if neighbours else ""),
                    pair_alpha=float(pair_alpha), n_pairs=int(len(pairs)))
        out[target] = Attribution(
            target=target, component_names=list(component_names), weights=weights, intercept=intercept,
            score=weighted_r2(z, y[:, col], weights=weights, intercept=intercept, kernel_width=kernel_width),
            local_prediction=float(intercept + weights.sum()), prediction=float(y[0, col]),
            num_samples=int(z.shape[0]), seed=seed, kernel_width=float(kernel_width), info=info)
    return out
