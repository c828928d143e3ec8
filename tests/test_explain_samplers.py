"""The mask designs: exact design properties, marginal uniformity, and convergence to uniform LIME's limit."""

from itertools import combinations, product

import numpy as np
import pytest

from mer_audiolime.explain import explain
from mer_audiolime.exceptions import ParameterError
from mer_audiolime.explain import fit_surrogate
from mer_audiolime.explain.samplers import SAMPLERS, block_size, draw_masks
from mer_audiolime.explain.sampling import sample_masks
from mer_audiolime.explain.surrogate import kernel_weights
from mer_audiolime.models import CallablePredictor


def _draw(k, n, sampler, seed=0):
    return draw_masks(k, n, sampler=sampler, rng=np.random.default_rng(seed))


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_shape_first_row_and_reproducibility(sampler):
    z = _draw(13, 101, sampler, seed=3)
    assert z.shape == (101, 13) and z.dtype == np.uint8
    assert z[0].tolist() == [1] * 13
    assert np.array_equal(z, _draw(13, 101, sampler, seed=3))
    assert not np.array_equal(z, _draw(13, 101, sampler, seed=4))


def test_uniform_is_the_historical_sampling():
    # the default keeps every earlier result: same generator calls as before the designs existed
    gen = np.random.default_rng(7)
    expected = gen.integers(0, 2, size=(50, 9), dtype=np.uint8)
    expected[0] = 1
    assert np.array_equal(sample_masks(9, 50, rng=7, exhaustive=False), expected)


@pytest.mark.parametrize("sampler", ["paired", "orthogonal"])
def test_designs_are_nested(sampler):
    big = _draw(20, 300, sampler, seed=1)
    for n in (2, 3, 64, 65, 100, 129, 300):
        assert np.array_equal(_draw(20, n, sampler, seed=1), big[:n])


def test_paired_rows_are_complements():
    z = _draw(7, 41, "paired")
    assert np.array_equal(z[2::2], 1 - z[1:-1:2])


@pytest.mark.parametrize("k", [1, 5, 12, 16, 50])
def test_orthogonal_block_is_a_strength_3_foldover(k):
    size = block_size(k)
    block = _draw(k, 1 + size, "orthogonal", seed=k)[1:].astype(int)
    assert len({tuple(r) for r in block}) == size  # distinct rows
    rows = {tuple(r) for r in block}
    assert all(tuple(1 - r) in rows for r in block)  # fold-over: closed under complement
    assert np.all(block.sum(axis=0) == size // 2)  # every component on in exactly half the rows
    # strength 3: every triple of columns shows every on/off pattern equally often
    for cols in combinations(range(k), min(k, 3)):
        patterns, counts = np.unique(block[:, cols], axis=0, return_counts=True)
        assert len(patterns) == 2 ** len(cols) and np.all(counts == size // 2 ** len(cols))


def test_block_size():
    assert [block_size(k) for k in (1, 2, 3, 4, 5, 8, 9, 20, 32, 33, 50)] == [2, 4, 8, 8, 16, 16, 32, 64, 64,
                                                                                128, 128]
    with pytest.raises(ParameterError):
        block_size(0)


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_every_row_is_marginally_uniform(sampler):
    # the law of one row (here row 6) over the seeds must be uniform on {0,1}^3: chi-square with 7 dof
    k, reps = 3, 4000
    rows = np.array([_draw(k, 8, sampler, seed=10_000 + s)[6] for s in range(reps)])
    codes = rows @ (1 << np.arange(k))
    counts = np.bincount(codes, minlength=2**k)
    chi2 = float(((counts - reps / 2**k) ** 2 / (reps / 2**k)).sum())
    assert chi2 < 24.3  # the 0.999 quantile of chi-square(7)


def _interaction_model(z):
    z = np.asarray(z, dtype=np.float64)
    a = np.linspace(-1.0, 1.5, z.shape[1])
    return (z @ a + 0.9 * z[:, 0] * z[:, 1] - 0.7 * z[:, 2] * z[:, 3] * z[:, 4]
            + 0.5 * z[:, 5] * z[:, 6] * z[:, 0] * z[:, 7] + 0.4 * np.sin(z @ a))[:, None]


def _population_limit(k):
    """The answer uniform LIME converges to: the kernel-weighted least squares fit over all 2**K masks, each
    with probability 2**-K (the ridge penalty vanishes relative to N as N grows)."""
    z = np.array(list(product((1, 0), repeat=k)), dtype=np.float64)
    sw = np.sqrt(kernel_weights(z))
    x = np.hstack([np.ones((len(z), 1)), z])
    coef, *_ = np.linalg.lstsq(x * sw[:, None], _interaction_model(z)[:, 0] * sw, rcond=None)
    return coef[1:]


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_converges_to_uniform_lime_limit(sampler):
    k = 9
    limit = _population_limit(k)
    errors = []
    for n in (2**10, 2**15):
        z = _draw(k, n + 1, sampler, seed=11)
        w = fit_surrogate(z, _interaction_model(z), output_names=["y"], component_names=list("abcdefghi"),
                          alpha=0.0)["y"].weights
        errors.append(np.max(np.abs(w - limit)))
    # the weights are O(1); Monte Carlo error at N = 32768 is about 1e-2 at most
    assert errors[1] < 0.03
    assert errors[1] < errors[0]


def test_orthogonal_block_is_exact_for_pairwise_models_with_a_flat_kernel():
    # strength 3 => main effects are orthogonal to every pairwise interaction: one block of 16 rows gives
    # the population least-squares answer exactly for a model with pairwise interactions (flat kernel)
    k = 8
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=k), np.triu(rng.normal(size=(k, k)), 1)

    def f(z):
        z = np.asarray(z, dtype=np.float64)
        return 0.3 + z @ a + np.einsum("ni,ij,nj->n", z, b, z)

    def ols(z):
        x = np.hstack([np.ones((len(z), 1)), z])
        return np.linalg.lstsq(x, f(z), rcond=None)[0][1:]

    full = np.array(list(product((0, 1), repeat=k)), dtype=np.float64)
    block = _draw(k, 1 + block_size(k), "orthogonal", seed=5)[1:]
    np.testing.assert_allclose(ols(block), ols(full), atol=1e-10)
    uniform = _draw(k, 1 + block_size(k), "uniform", seed=5)[1:]
    assert np.max(np.abs(ols(uniform) - ols(full))) > 1e-3  # i.i.d. rows do not have this property


def test_bad_sampler_names():
    with pytest.raises(ParameterError, match="sampler"):
        draw_masks(5, 10, sampler="sobol", rng=np.random.default_rng(0))
    with pytest.raises(ParameterError, match="sampler"):
        sample_masks(5, 10, rng=0, exhaustive=False, sampler="latin")


def test_explain_uses_the_named_sampler():
    sr, k = 100, 12
    rng = np.random.default_rng(0)
    stems = {f"s{i}": rng.normal(size=(1, 600)).astype(np.float32) for i in range(k // 2)}
    mix = np.sum(list(stems.values()), axis=0)
    model = CallablePredictor(lambda x: x.std(axis=(1, 2))[:, None], sample_rate=sr, output_names=["loud"])
    exp = explain(mix, sr=sr, model=model, stems=stems, segments=2, residual=False, num_samples=300, seed=4,
                  sampler="orthogonal", show_progress=False)
    assert exp.settings["sampler"] == "orthogonal"
    assert np.array_equal(exp.masks, draw_masks(k, 300, sampler="orthogonal", rng=np.random.default_rng(4)))
    with pytest.raises(ParameterError, match="sampler"):
        explain(mix, sr=sr, model=model, stems=stems, num_samples=300, sampler="nope", show_progress=False)


def test_suites_name_a_sampler_without_changing_published_hashes():
    import hashlib
    import json

    from mer_audiolime.evaluation.suites import load_suite, suite_hash

    quick = load_suite("quick")
    assert quick["explain"]["sampler"] == "uniform"
    legacy = {k: ({kk: vv for kk, vv in v.items() if kk != "sampler"} if k == "explain" else v)
              for k, v in quick.items()}
    assert suite_hash(quick) == hashlib.sha256(json.dumps(legacy, sort_keys=True).encode()).hexdigest()
    ortho = load_suite({"explain": {"sampler": "orthogonal"}})
    assert ortho["explain"]["sampler"] == "orthogonal"
    assert suite_hash(ortho) != suite_hash(load_suite({}))
    with pytest.raises(ParameterError, match="explain.sampler"):
        load_suite({"explain": {"sampler": "sobol"}})
