"""Mask designs for the sampled regime of LIME: ``uniform``, ``paired`` and ``orthogonal``.

All three estimate the same thing. The LIME surrogate is a kernel-weighted ridge fit on the masks; with
``uniform`` masks (i.i.d. Bernoulli(1/2) rows, audioLIME's sampling) it converges, as N grows, to the
population fit ``argmin E_z[pi(z) (f(z) - b - w.z)^2]`` over ``z`` uniform on ``{0,1}^K``. The other two
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

Row 0 is always the all-on mask (the unperturbed input), as with ``uniform``.
"""

from __future__ import annotations

import numpy as np

from ..exceptions import ParameterError
from ..validation import check_choice, check_int

__all__ = ["SAMPLERS", "DEFAULT_SAMPLER", "draw_masks", "block_size"]

#: Names accepted by ``sampler=`` (``explain``, the harness suites and the CLI).
SAMPLERS = ("uniform", "paired", "orthogonal")

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
    x = np.arange(rows, dtype=np.int64)
    # <x, g_k> mod 2 = parity of popcount(x & g_k)
    prod = x[:, None] & g[None, :]
    parity = np.zeros_like(prod)
    for bit in range(m):
        parity ^= (prod >> bit) & 1
    shift = gen.integers(0, 2, size=k, dtype=np.int64)
    return (parity ^ shift[None, :]).astype(np.uint8)


def _paired_rows(n: int, k: int, gen: np.random.Generator) -> np.ndarray:
    pairs = (n + 1) // 2
    first = gen.integers(0, 2, size=(pairs, k), dtype=np.uint8)
    out = np.empty((2 * pairs, k), dtype=np.uint8)
    out[0::2] = first
    out[1::2] = 1 - first
    return out[:n]


def draw_masks(n_components: int, num_samples: int, *, sampler: str, rng: np.random.Generator) -> np.ndarray:
    """Draw ``num_samples`` masks with the named design; row 0 is all ones.

    Parameters
    ----------
    n_components : int
        K (>= 1).
    num_samples : int
        N (>= 2): row 0 plus ``N - 1`` designed rows.
    sampler : {"uniform", "paired", "orthogonal"}
        See the module docstring.
    rng : np.random.Generator
        The only source of randomness (same generator state, same masks).

    Returns
    -------
    np.ndarray, shape (N, K), uint8
        Every row but the first is marginally uniform on ``{0,1}^K``. For ``paired`` and ``orthogonal``
        ``draw_masks(K, n)`` equals the first ``n`` rows of ``draw_masks(K, N)`` (``n <= N``) drawn with a
        generator in the same state.

    Examples
    --------
    >>> z = draw_masks(50, 129, sampler="orthogonal", rng=np.random.default_rng(0))
    >>> z.shape, z[0].min(), z[1:].mean(axis=0).tolist() == [0.5] * 50
    ((129, 50), 1, True)
    """
    sampler = check_choice(sampler, "sampler", SAMPLERS)
    k = check_int(n_components, "n_components", minimum=1)
    n = check_int(num_samples, "num_samples", minimum=2)
    if not isinstance(rng, np.random.Generator):
        raise ParameterError(f"rng must be a numpy Generator, got {type(rng).__name__}.")
    if sampler == "uniform":
        masks = rng.integers(0, 2, size=(n, k), dtype=np.uint8)
    elif sampler == "paired":
        masks = np.concatenate([np.ones((1, k), np.uint8), _paired_rows(n - 1, k, rng)])
    else:
        size = block_size(k)
        blocks, need = [np.ones((1, k), np.uint8)], n - 1
        while need > 0:
            block = _orthogonal_block(k, rng)
            blocks.append(block[: min(need, size)])
            need -= size
        masks = np.concatenate(blocks)
    masks[0] = 1
    return masks
