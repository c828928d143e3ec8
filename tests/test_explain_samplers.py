"""The mask designs: exact design properties, marginal uniformity, and convergence to uniform LIME's limit."""

from itertools import combinations, product

import numpy as np
import pytest

from mer_audiolime.explain import explain
from mer_audiolime.exceptions import ParameterError
from mer_audiolime.explain import fit_surrogate
from mer_audiolime.explain.samplers import SAMPLERS, block_size, check_groups, draw_masks, grouped_codes
from mer_audiolime.explain.sampling import sample_masks
from mer_audiolime.explain.surrogate import kernel_weights
from mer_audiolime.models import CallablePredictor


def _draw(k, n, sampler, seed=0, groups=None):
    return draw_masks(k, n, sampler=sampler, rng=np.random.default_rng(seed), groups=groups)


def _layout(stems, segments):
    """Segment of each component in build_components' order (stem-major: vocals@t0, vocals@t1, ...)."""
    return np.tile(np.arange(segments), stems)


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


@pytest.mark.parametrize("sampler", ["paired", "orthogonal", "grouped"])
def test_designs_are_nested(sampler):
    groups = _layout(5, 4)
    big = _draw(20, 300, sampler, seed=1, groups=groups)
    for n in (2, 3, 64, 65, 100, 128, 129, 130, 257, 300):
        assert np.array_equal(_draw(20, n, sampler, seed=1, groups=groups), big[:n])


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


@pytest.mark.parametrize("sampler, groups", [(s, None) for s in SAMPLERS] + [("grouped", [0, 0, 1])])
def test_every_row_is_marginally_uniform(sampler, groups):
    # the law of one row (here row 6) over the seeds must be uniform on {0,1}^3: chi-square with 7 dof
    k, reps = 3, 4000
    rows = np.array([_draw(k, 8, sampler, seed=10_000 + s, groups=groups)[6] for s in range(reps)])
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
    exp = explain(mix, sr=sr, model=model, stems=stems, segments=2, residual=False, num_samples=300, seed=4,
                  sampler="grouped", show_progress=False)
    assert exp.settings["sampler"] == "grouped" and exp.components.segments == [0, 1] * (k // 2)
    # the explainer hands the components' segments to the design
    assert np.array_equal(exp.masks, draw_masks(k, 300, sampler="grouped", rng=np.random.default_rng(4),
                                                groups=[0, 1] * (k // 2)))
    assert not np.array_equal(exp.masks, draw_masks(k, 300, sampler="grouped", rng=np.random.default_rng(4)))
    # and so do the explanation's later recomputations of the design (every LIME mask already cached)
    assert "lime" in exp.available_sources()
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


def test_grouped_every_row_is_marginally_uniform():
    # each row of two blocks (rows 1..32 at K = 3, 16-row blocks) is uniform on {0,1}^3 over the seeds;
    # chi-square with 7 dof per row, Bonferroni over the 32 rows at family level 1e-3
    from scipy import stats

    k, reps, groups = 3, 4000, [0, 1, 1]
    draws = np.stack([_draw(k, 33, "grouped", seed=20_000 + s, groups=groups) for s in range(reps)])
    limit = stats.chi2.ppf(1 - 1e-3 / 32, df=7)
    for r in range(1, 33):
        counts = np.bincount(draws[:, r] @ (1 << np.arange(k)), minlength=2**k)
        assert float(((counts - reps / 2**k) ** 2 / (reps / 2**k)).sum()) < limit, r


def _pattern_counts(block, cols):
    """Rows of ``block`` per on/off pattern of every column tuple in ``cols`` ``(T, t)``: ``(T, 2**t)``."""
    codes = np.zeros((len(cols), len(block)), dtype=np.int64)
    for j in range(cols.shape[1]):
        codes = 2 * codes + block[:, cols[:, j]].T
    offsets = np.arange(len(cols))[:, None] * 2 ** cols.shape[1]
    size = 2 ** cols.shape[1]
    return np.bincount((codes + offsets).ravel(), minlength=len(cols) * size).reshape(len(cols), size)


@pytest.mark.parametrize("stems, segments", [(5, 10), (5, 4), (4, 1), (1, 1)])
def test_grouped_block_and_its_first_half_are_strength_3_foldovers(stems, segments):
    k = stems * segments
    size = 2 * block_size(k)
    block = _draw(k, 1 + size, "grouped", seed=k, groups=_layout(stems, segments))[1:].astype(np.int64)
    # distinct rows (below K = 4 the block is larger than 2**K: every coalition then appears equally often)
    patterns, counts = np.unique(block, axis=0, return_counts=True)
    assert len(patterns) == min(size, 2**k) and np.all(counts == size // min(size, 2**k))
    rows = {tuple(r) for r in block}
    assert all(tuple(1 - r) in rows for r in block)  # fold-over
    for part in (block, block[: size // 2]):  # the full block and the nested first half
        triples = np.array(list(combinations(range(k), min(k, 3))))
        counts = _pattern_counts(part, triples)
        assert np.all(counts == len(part) // 2 ** triples.shape[1])


def _aliased_group_triples(block, groups):
    """``(triple, column)`` pairs, triple inside one group, whose product is constant over ``block``: the
    main effect of ``column`` is aliased with the triple's interaction. Brute force over the rows."""
    x = 2 * block.astype(np.int64) - 1
    out = []
    for g in np.unique(groups):
        for t in combinations(np.flatnonzero(groups == g), 3):
            prod = x[:, list(t)].prod(axis=1)
            for d in range(x.shape[1]):
                if d not in t and abs(int((prod * x[:, d]).sum())) == len(x):
                    out.append((t, d))
    return out


def test_grouped_keeps_three_way_interactions_inside_a_segment_clear():
    # 5 stems x 4 segments: in a full 128-row block no within-segment three-way interaction is aliased with
    # any main effect; 5 x 10: none with a main effect of its own or a neighbouring segment (4 of the 100
    # within-segment triples remain aliased with a component three or more segments away). Two 64-row
    # `orthogonal` blocks (the same 128 rows) do alias such triples with neighbouring components.
    groups = _layout(5, 4)
    block = _draw(20, 129, "grouped", seed=3, groups=groups)[1:]
    assert _aliased_group_triples(block, groups) == []
    near = 0
    for seed in range(3):
        z = _draw(20, 129, "orthogonal", seed=seed)[1:]
        for half in (z[:64], z[64:]):
            near += sum(abs(groups[d] - groups[t[0]]) <= 1 for t, d in _aliased_group_triples(half, groups))
    assert near > 0
    groups = _layout(5, 10)
    aliased = _aliased_group_triples(_draw(50, 257, "grouped", seed=3, groups=groups)[1:], groups)
    assert len(aliased) == 4 and all(abs(groups[d] - groups[t[0]]) >= 2 for t, d in aliased)


def test_grouped_aliases_a_third_of_the_neighbour_triples_at_5_by_10():
    # the figure docs/explain.md quotes ("The variance behind the scores"): in a full 256-row block, 291 of
    # the 900 triples made of two stems of a segment and one stem of a neighbouring segment are aliased with
    # a main effect. Brute force over the rows of two blocks (the randomisation moves the words among the
    # stems of a segment, not their number), checked against the code vectors' XOR.
    groups = _layout(5, 10)
    triples = [p + (c,) for g in range(10) for p in combinations(np.flatnonzero(groups == g).tolist(), 2)
               for c in np.flatnonzero(np.abs(groups - g) == 1).tolist()]
    assert len(triples) == 900
    for seed in (3, 4):
        x = 2 * _draw(50, 257, "grouped", seed=seed, groups=groups)[1:].astype(np.int64) - 1
        prod = np.stack([x[:, list(t)].prod(axis=1) for t in triples], axis=1)
        hits = np.abs(x.T @ prod) == len(x)  # (column, triple): constant product, an alias
        for j, t in enumerate(triples):
            hits[list(t), j] = False
        assert int(hits.any(axis=0).sum()) == 291
    codes = grouped_codes(groups)
    members = set(codes.tolist())
    assert sum(int(codes[a] ^ codes[b] ^ codes[c]) in members for a, b, c in triples) == 291


def test_grouped_codes_are_deterministic_and_need_the_layout():
    groups = _layout(5, 4)
    codes = grouped_codes(groups)
    assert np.array_equal(codes, grouped_codes(list(groups)))
    assert len(set(codes.tolist())) == 20 and np.all(codes % 2 == 1) and np.all(codes < 128)
    assert len(set((codes % 64).tolist())) == 20  # the first half-block is strength 3 too
    with_layout = _draw(20, 129, "grouped", seed=0, groups=groups)
    assert not np.array_equal(with_layout, _draw(20, 129, "grouped", seed=0))
    # the other designs ignore the layout
    assert np.array_equal(_draw(20, 129, "orthogonal", seed=0, groups=groups), _draw(20, 129, "orthogonal"))
    for bad in ([0, 1], [0.5] * 20, [[0]] * 20, "abc"):
        with pytest.raises(ParameterError, match="groups"):
            draw_masks(20, 10, sampler="grouped", rng=np.random.default_rng(0), groups=bad)
    assert check_groups(None, 3) is None


def test_grouped_has_lower_variance_than_orthogonal_for_within_segment_interactions():
    # an analytic model whose interactions all sit inside one time segment (pairs and triples of stems of the
    # same segment), LIME's kernel and ridge: across 40 seeds at N = 129 (one `grouped` block, two
    # `orthogonal` blocks) the weights of `grouped` vary less than half as much (summed variance 0.40 against
    # 1.76 here, and 0.43 / 2.03, 0.40 / 1.88 on seeds 40-79 and 80-119; uniform rows: 4.2)
    stems, segments = 5, 4
    groups = _layout(stems, segments)
    k = stems * segments
    rng = np.random.default_rng(0)
    lin = rng.normal(size=k)
    pairs = [(a, b) for a, b in combinations(range(k), 2) if groups[a] == groups[b]]
    triples = [t for t in combinations(range(k), 3) if len(set(groups[list(t)])) == 1]
    cp, ct = rng.normal(size=len(pairs)), rng.normal(size=len(triples))

    def f(z):
        z = z.astype(np.float64)
        out = z @ lin + sum(c * z[:, a] * z[:, b] for c, (a, b) in zip(cp, pairs))
        return (out + sum(c * z[:, a] * z[:, b] * z[:, e] for c, (a, b, e) in zip(ct, triples)))[:, None]

    def spread(sampler):
        w = []
        for seed in range(40):
            z = _draw(k, 129, sampler, seed=seed, groups=groups)
            w.append(fit_surrogate(z, f(z), output_names=["y"], component_names=[f"c{i}" for i in range(k)],
                                   seed=0)["y"].weights)
        return float(np.var(np.array(w), axis=0).sum())

    assert spread("grouped") < 0.5 * spread("orthogonal")
