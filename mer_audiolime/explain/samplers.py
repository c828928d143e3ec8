"""Mask designs for the sampled regime of LIME: ``uniform``, ``paired``, ``orthogonal`` and ``grouped``.

All four estimate the same thing. The LIME surrogate is a kernel-weighted ridge fit on the masks; with
``uniform`` masks (i.i.d. Bernoulli(1/2) rows, audioLIME's sampling) it converges, as N grows, to the
population fit ``argmin E_z[pi(z) (f(z) - b - w.z)^2]`` over ``z`` uniform on ``{0,1}^K``. The other three
designs draw **every row marginally uniform on {0,1}^K** (each block is shifted by an independent uniform
random vector) and draw blocks independently, so every sample moment of the fit (``sum pi z z'`` and
``sum pi z f``) has the same expectation as under ``uniform`` and the fit converges to the same population
answer: no importance weights are needed (they are exactly 1). What changes is the dependence *inside* a
block, which cancels much of the noise that a model's interactions put into the estimate:

``paired``
    Antithetic coalitions (Covert & Lee, AISTATS 2021): every row ``z`` comes with its complement ``1 - z``.
    For a kernel symmetric in ``|z|`` this removes the contribution of every even-order interaction
    (pairwise, four-way, ...) of the model to the error of the weights; LIME's kernel is only roughly
    symmetric around ``|z| = K/2``, so most of it is removed.
``orthogonal``
    Blocks of ``2**m`` rows that form a randomly shifted two-level orthogonal array of strength 3: a
    resolution-IV fractional factorial design built as a fold-over (it contains ``1 - z`` for each ``z``).
    Column ``k`` of a block is ``z_k(x) = <x, g_k> XOR u_k`` for ``x`` running over ``GF(2)^m``, with distinct
    code vectors ``g_k`` whose first bit is 1 and a uniform shift ``u``. In a full block every column is
    on in exactly half the rows, every pair and every triple of columns takes each on/off pattern equally
    often, so main effects are balanced and uncorrelated with all pairwise interactions (classical
    design of experiments: Box & Hunter 1961; as randomised quasi-Monte Carlo, Owen 1992). ``m`` is the
    smallest with ``2**(m-1) >= K`` (128 rows at K = 50, 64 at K = 20). Rows come in binary-counting order
    of ``x``, so every prefix of a block splits into fold-over sub-blocks (sizes = the binary digits of its
    length): a design of N rows is the first N rows of the design of any larger N (nested, seed for seed).
``grouped``
    The same construction with blocks twice as large (256 rows at K = 50, 128 at K = 20) and code vectors
    chosen for the layout of the components (``groups``: the time segment of each stem x segment
    component). In a regular two-level design main effect ``k`` is aliased with the interaction of
    ``{a, b, c}`` exactly when ``g_k = g_a + g_b + g_c`` (a *word* ``{k, a, b, c}`` of the defining relation;
    Box & Hunter 1961). Which effects share a word is decided by the choice of code vectors; picking them so
    that a required set of effects stays clear of the main effects is the problem of Franklin & Bailey
    (1977, Applied Statistics 26, 321-326) and of "clear" effects (Wu & Chen 1992, Technometrics 34,
    162-175). The model interactions that matter for audio are local in time (the stems of one segment
    are summed into the same spectrogram frames; neighbouring segments share receptive fields), so the code
    vectors minimise a weighted count of the length-4 words that contain

    - a three-way interaction inside one group (weight 10) or two components of a group and one of a
      neighbouring group (weight 2): such a word aliases that interaction with a main effect;
    - a pair inside one group (weight 1) or in neighbouring groups (weight 0.2), once per other pair with the
      same code difference: LIME's kernel is close to linear in ``|z|``
      (``pi(z) ~ c0 + c1 * sum_k x_k`` with ``x = 2z - 1``, ``c1 / c0 ~ 0.03`` at K = 50), so a word
      ``{j, k, a, b}`` lets the pairwise interaction ``{a, b}`` leak into the weights of ``j`` and ``k``
      (``sum pi x_j x_a x_b = c1 * sum x_k x_j x_a x_b``) even though the design is of strength 3;

    both in the full block and in its first half, under the hard constraint that the first half is itself a
    strength-3 array (the code vectors stay distinct when their top bit is dropped). The minimisation is a
    deterministic simulated annealing over code vectors (fixed seed, cached per layout), so the design
    depends on the layout and the seed only. Each block is randomised by a uniform shift (which makes every
    row marginally uniform), by permuting the code vectors among the components of each group and by
    XOR-ing all code vectors with one random even vector (neither changes which words exist). Without
    ``groups`` every component is its own group. A fold-over design of this size cannot remove the leak
    of pairs: in 256 rows every code difference is shared by about ``K**2 / 256`` pairs, so the count is
    lowered (at K = 50, 5 x 10, from about 9 to about 8 other pairs per within-group pair), not removed.
    Three-way interactions inside a group are kept clear of the main effects of their own and
    neighbouring groups (at 5 x 4 of every main effect; at 5 x 10, 4 of the 100 stay aliased with a
    component three or more groups away).

Row 0 is always the all-on mask (the unperturbed input), as with ``uniform``.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import combinations

import numpy as np

from ..exceptions import ParameterError
from ..validation import check_choice, check_int

__all__ = ["SAMPLERS", "DEFAULT_SAMPLER", "draw_masks", "block_size", "grouped_codes", "check_groups"]

#: Names accepted by ``sampler=`` (``explain``, the harness suites and the CLI).
SAMPLERS = ("uniform", "paired", "orthogonal", "grouped", "grouped-adjusted")

#: What ``explain`` uses when no sampler is named.
DEFAULT_SAMPLER = "uniform"


def block_size(n_components: int) -> int:
    """Rows of one full ``orthogonal`` block for K components: ``2**m`` with ``2**(m-1) >= K``.

    Examples
    --------
    >>> block_size(50), block_size(20), block_size(1)
    (128, 64, 2)
    """
    k = int(n_components)
    if k < 1:
        raise ParameterError(f"n_components must be >= 1, got {n_components!r}.")
    return 2 ** (1 + int(np.ceil(np.log2(k))))


def _parity_block(codes: np.ndarray, m: int, shift: np.ndarray) -> np.ndarray:
    """Rows ``x = 0 .. 2**m - 1`` (binary counting order) of ``z_k(x) = <x, g_k> XOR u_k``, uint8."""
    x = np.arange(2**m, dtype=np.int64)
    prod = x[:, None] & np.asarray(codes, dtype=np.int64)[None, :]
    parity = np.zeros_like(prod)
    for bit in range(m):  # <x, g_k> mod 2 = parity of popcount(x & g_k)
        parity ^= (prod >> bit) & 1
    return (parity ^ np.asarray(shift, dtype=np.int64)[None, :]).astype(np.uint8)


def _orthogonal_block(k: int, gen: np.random.Generator) -> np.ndarray:
    """One full block ``(2**m, k)`` in binary-counting order of ``x`` (bit 0 is the fold-over bit)."""
    rows = block_size(k)
    m = rows.bit_length() - 1
    # Code vectors g_k = 1 + 2 * v_k with distinct v_k < 2**(m-1). Taking v = 0..k-1 (XOR a random constant,
    # then randomly assigned to components) keeps the low bits of v as balanced as possible, so the prefixes
    # of the block (sub-blocks over the low bits of x) spread the components evenly over their code vectors.
    half = rows // 2
    v = np.arange(k, dtype=np.int64) ^ int(gen.integers(0, half))
    g = (1 + 2 * v)[gen.permutation(k)]
    shift = gen.integers(0, 2, size=k, dtype=np.int64)
    return _parity_block(g, m, shift)


#: Weights of the ``grouped`` code search (see the module docstring): three-way interactions inside a group,
#: two in a group and one in a neighbouring group; pairs inside a group and in neighbouring groups.
_W_TRIPLE, _W_TRIPLE_NEAR, _W_PAIR, _W_PAIR_NEAR = 10.0, 2.0, 1.0, 0.2
_HALF_WEIGHT = 0.5  # weight of the first half-block's words against the full block's
_SEARCH_SEED, _SEARCH_STEPS = 0, 20_000  # steps at K <= 50; fewer above (each step costs ~K**2)


def check_groups(groups, n_components: int) -> np.ndarray | None:
    """Validate ``groups=`` (one integer group id per component; neighbours differ by 1) -> int64 array.

    Parameters
    ----------
    groups : sequence of int or None
        E.g. :attr:`Components.segments <mer_audiolime.explain.composition.Components>` (the time segment of
        each component). None means no known layout.
    n_components : int
        K.

    Returns
    -------
    np.ndarray of int64, shape (K,), or None

    Examples
    --------
    >>> check_groups([0, 1, 0, 1], 4).tolist()
    [0, 1, 0, 1]
    """
    if groups is None:
        return None
    try:
        arr = np.asarray(groups)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"groups must be a sequence of integer group ids, got {groups!r}.") from exc
    if arr.ndim != 1 or arr.dtype.kind not in "iu" or len(arr) != int(n_components):
        raise ParameterError(
            f"groups must hold one integer group id per component ({n_components}), got {groups!r}; "
            "pass e.g. the components' segment indices (Components.segments).")
    return arr.astype(np.int64)


def _strong_effects(groups: np.ndarray):
    """Pairs and triples whose aliasing the ``grouped`` search penalises, with their weights."""
    k = len(groups)
    gap = np.abs(groups[:, None] - groups[None, :])
    pa, pb = np.triu_indices(k, 1)
    pw = np.where(gap[pa, pb] == 0, _W_PAIR, np.where(gap[pa, pb] == 1, _W_PAIR_NEAR, 0.0))
    keep = pw > 0
    triples, tw = [], []
    for g in np.unique(groups):
        inside = np.flatnonzero(groups == g)
        near = np.flatnonzero(np.abs(groups - g) == 1)
        triples += list(combinations(inside.tolist(), 3))
        tw += [_W_TRIPLE] * (len(triples) - len(tw))
        triples += [p + (c,) for p in combinations(inside.tolist(), 2) for c in near.tolist()]
        tw += [_W_TRIPLE_NEAR] * (len(triples) - len(tw))
    return pa[keep], pb[keep], pw[keep], np.array(triples, dtype=np.int64).reshape(-1, 3), np.array(tw)


def _alias_cost(codes: np.ndarray, bits: int, effects) -> float:
    """Weighted count of the length-4 words (of the design with these code vectors, truncated to ``bits``)
    that alias a penalised pair or triple with main effects."""
    pa, pb, pw, triples, tw = effects
    g = codes & ((1 << bits) - 1)
    a, b = np.triu_indices(len(g), 1)
    n_diff = np.bincount(g[a] ^ g[b], minlength=1 << bits)  # pairs sharing each code difference
    cost = float(np.sum(pw * (n_diff[g[pa] ^ g[pb]] - 1)))
    if len(triples):
        member = np.zeros(1 << bits, dtype=bool)
        member[g] = True
        cost += float(np.sum(tw * member[g[triples[:, 0]] ^ g[triples[:, 1]] ^ g[triples[:, 2]]]))
    return cost


@lru_cache(maxsize=32)
def _grouped_codes_cached(groups: tuple, m: int) -> np.ndarray:
    groups = np.asarray(groups, dtype=np.int64)
    k = len(groups)
    effects = _strong_effects(groups)

    def cost(codes):
        return _alias_cost(codes, m, effects) + _HALF_WEIGHT * _alias_cost(codes, m - 1, effects)

    gen = np.random.default_rng(_SEARCH_SEED)
    half_mask = (1 << (m - 1)) - 1
    codes = 1 + 2 * np.arange(k, dtype=np.int64)  # distinct also when the top bit is dropped
    current = cost(codes)
    best, best_codes = current, codes.copy()
    steps = min(_SEARCH_STEPS, _SEARCH_STEPS * 2500 // k**2)
    for step in range(steps):
        temperature = 2.0 * 1e-3 ** (step / steps)
        trial = codes.copy()
        if gen.random() < 0.5:  # swap the code vectors of two components of different groups
            i, j = gen.integers(k, size=2)
            if groups[i] == groups[j]:
                continue
            trial[i], trial[j] = trial[j], trial[i]
        else:  # move one component to another odd code vector, keeping the first half strength 3
            i = int(gen.integers(k))
            new = 1 + 2 * int(gen.integers(1 << (m - 1)))
            if np.any(np.delete(trial & half_mask, i) == (new & half_mask)):
                continue
            trial[i] = new
        c = cost(trial)
        if c <= current or gen.random() < np.exp((current - c) / temperature):
            codes, current = trial, c
            if c < best:
                best, best_codes = c, codes.copy()
    best_codes.setflags(write=False)
    return best_codes


def grouped_codes(groups, *, n_components: int | None = None) -> np.ndarray:
    """Code vectors of the ``grouped`` design for a component layout (deterministic, cached).

    Parameters
    ----------
    groups : sequence of int or None
        Group id per component (None: ``n_components`` singleton groups).
    n_components : int, optional
        K; required when ``groups`` is None.

    Returns
    -------
    np.ndarray of int64, shape (K,)
        Odd ``m``-bit integers, ``2**m = 2 * block_size(K)``; distinct, and distinct modulo ``2**(m-1)``
        (so the first half of a block is a strength-3 array too).

    Examples
    --------
    >>> g = grouped_codes([0] * 5 + [1] * 5)
    >>> len(set(g.tolist())), bool((g % 2).all()), len(set((g % 32).tolist()))
    (10, True, 10)
    """
    if groups is None:
        k = check_int(n_components, "n_components", minimum=1)
        layout = tuple(range(0, 2 * k, 2))  # singletons, no neighbours
    else:
        k = len(groups)
        layout = tuple(check_groups(groups, k).tolist())
    m = (2 * block_size(k)).bit_length() - 1  # 2**m rows per block
    return _grouped_codes_cached(layout, m).copy()


def _grouped_block(codes: np.ndarray, groups: np.ndarray, gen: np.random.Generator) -> np.ndarray:
    """One full ``grouped`` block ``(2 * block_size(K), K)``: the codes permuted within each group, XOR-ed
    with a random even vector, and shifted by a uniform random vector."""
    k = len(codes)
    m = (2 * block_size(k)).bit_length() - 1
    g = codes.copy()
    for grp in np.unique(groups):
        idx = np.flatnonzero(groups == grp)
        g[idx] = g[idx[gen.permutation(len(idx))]]
    g ^= 2 * int(gen.integers(0, 2 ** (m - 1)))
    shift = gen.integers(0, 2, size=k, dtype=np.int64)
    return _parity_block(g, m, shift)


def _paired_rows(n: int, k: int, gen: np.random.Generator) -> np.ndarray:
    pairs = (n + 1) // 2
    first = gen.integers(0, 2, size=(pairs, k), dtype=np.uint8)
    out = np.empty((2 * pairs, k), dtype=np.uint8)
    out[0::2] = first
    out[1::2] = 1 - first
    return out[:n]


def draw_masks(n_components: int, num_samples: int, *, sampler: str, rng: np.random.Generator,
               groups=None) -> np.ndarray:
    """Draw ``num_samples`` masks with the named design; row 0 is all ones.

    Parameters
    ----------
    n_components : int
        K (>= 1).
    num_samples : int
        N (>= 2): row 0 plus ``N - 1`` designed rows.
    sampler : {"uniform", "paired", "orthogonal", "grouped", "grouped-adjusted"}
        See the module docstring; ``"grouped-adjusted"`` draws the ``grouped`` masks (it differs in the fit).
    rng : np.random.Generator
        The only source of randomness (same generator state, same masks).
    groups : sequence of int, optional
        Group id of each component, neighbouring groups differing by 1 (for stems x segments: the segment
        index, :attr:`Components.segments`). Only ``grouped`` (and ``grouped-adjusted``) use it; the other
        designs ignore it.

    Returns
    -------
    np.ndarray, shape (N, K), uint8
        Every row but the first is marginally uniform on ``{0,1}^K``. For ``paired``, ``orthogonal`` and
        ``grouped`` ``draw_masks(K, n)`` equals the first ``n`` rows of ``draw_masks(K, N)`` (``n <= N``)
        drawn with a generator in the same state.

    Examples
    --------
    >>> z = draw_masks(50, 129, sampler="orthogonal", rng=np.random.default_rng(0))
    >>> z.shape, int(z[0].min()), z[1:].mean(axis=0).tolist() == [0.5] * 50
    ((129, 50), 1, True)
    >>> z = draw_masks(10, 41, sampler="grouped", rng=np.random.default_rng(0), groups=[0, 1] * 5)
    >>> z.shape, z[1:].mean(axis=0).tolist() == [0.5] * 10
    ((41, 10), True)
    """
    sampler = check_choice(sampler, "sampler", SAMPLERS)
    k = check_int(n_components, "n_components", minimum=1)
    n = check_int(num_samples, "num_samples", minimum=2)
    groups = check_groups(groups, k)
    if not isinstance(rng, np.random.Generator):
        raise ParameterError(f"rng must be a numpy Generator, got {type(rng).__name__}.")
    if sampler == "uniform":
        masks = rng.integers(0, 2, size=(n, k), dtype=np.uint8)
    elif sampler == "paired":
        masks = np.concatenate([np.ones((1, k), np.uint8), _paired_rows(n - 1, k, rng)])
    else:
        if sampler in ("grouped", "grouped-adjusted"):
            codes = grouped_codes(groups, n_components=k)
            layout = groups if groups is not None else np.arange(k)

            def block():
                return _grouped_block(codes, layout, rng)
        else:
            def block():
                return _orthogonal_block(k, rng)
        blocks, need = [np.ones((1, k), np.uint8)], n - 1
        while need > 0:
            rows = block()
            blocks.append(rows[:need])
            need -= len(rows)
        masks = np.concatenate(blocks)
    masks[0] = 1
    return masks
