"""Why a ``grouped-adjusted`` weight jumps in some seeds: aliasing of main effects with local three-way
interactions in the ``grouped`` design (a diagnostic; it chooses no setting).

Prints one JSON object with three parts:

* ``design``: for the library's ``grouped`` code vectors at a stems x segments layout, how many of the
  triples inside a segment and of the triples of two stems of a segment and one of a neighbouring segment
  are aliased with a main effect in a full block (a length-4 word). ``--alt-search`` adds the same counts
  for a search that weights the triples inside a segment 10 times more and runs 5 times the steps.
* ``rates`` (``--rates``): on a clip, ``grouped-adjusted`` at N = 250 for seeds 0..19 of every
  ``bench_sampler.py`` model; a (seed, component) *jumps* when its weight for some output is more than 4
  robust standard deviations (1.4826 x MAD over the seeds) from its median; it is *aliased* when, on that
  seed's rows, its +-1 column is (up to sign) the product of the columns of a triple inside a segment that
  does not contain it (|mean of the product| > 0.9). Reported per model: the jump rate of aliased and of
  other (seed, component) pairs, and how many jumps are aliased.
* ``case`` (``--case MODEL``): on a clip, uniform N = 1000 and ``grouped-adjusted`` N = 250 for seeds
  0..19 (``bench_sampler.py``'s masks): per output the top 6 components of uniform's pooled answer with the
  seed standard deviation of both estimators and the seeds in which its main effect is aliased with a
  triple inside a segment, and every seed in which a top-6 ``grouped-adjusted`` weight is
  more than 4 of uniform's standard deviations from its median, with the triples inside a segment that its
  main effect is aliased with in that seed.

Usage: ``python benchmarks/diagnose_aliasing.py [--clip synth0001] [--n-clips 4] [--rates] [--case MODEL]
[--alt-search]``.
"""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import contextmanager
from itertools import combinations

import numpy as np

from bench_sampler import benchmark_clip, benchmark_models, fit_weights
from mer_audiolime.explain.adjustment import interaction_terms
from mer_audiolime.explain.components import build_components
from mer_audiolime.explain.lime_audio import component_predict_fn
from mer_audiolime.explain.samplers import draw_masks, grouped_codes
from mer_audiolime.explain.sampling import PredictionCache, sample_masks

SEEDS, N, JUMP, ALIAS = 20, 250, 4.0, 0.9
LAYOUT = np.arange(50) % 10  # bench_sampler's 5 stems x 10 segments: component = stem * 10 + segment


def products(x: np.ndarray, terms) -> np.ndarray:
    """``prod_{i in S} x_i`` for every term ``S`` (0/1 masks or +-1 columns), shape ``(N, P)``."""
    return np.stack([x[:, list(t)].prod(axis=1) for t in terms], axis=1) if terms else np.zeros((len(x), 0))


def local_triples(groups: np.ndarray) -> dict:
    """``inside``: the triples inside one segment (the adjustment's order-3 terms,
    :func:`~mer_audiolime.explain.adjustment.interaction_terms`); ``neighbour``: two stems of a segment and
    one of a neighbouring segment."""
    terms, kinds = interaction_terms(groups, neighbours=False, within_order=3)
    out = {"inside": [t for t, kind in zip(terms, kinds) if kind == "higher"], "neighbour": []}
    for s in np.unique(groups):
        near = np.flatnonzero(np.abs(groups - s) == 1).tolist()
        out["neighbour"] += [p + (c,) for p in combinations(np.flatnonzero(groups == s).tolist(), 2)
                             for c in near]
    return out


def aliased_counts(codes: np.ndarray, groups: np.ndarray) -> dict:
    """How many local triples have the XOR of their code vectors equal to a component's code vector."""
    member = set(int(c) for c in codes)

    def hits(ts):
        return sum((int(codes[a]) ^ int(codes[b]) ^ int(codes[c])) in member for a, b, c in ts)

    return {kind: {"aliased": hits(ts), "of": len(ts)} for kind, ts in local_triples(groups).items()}


@contextmanager
def heavier_search():
    """Within the block, the ``grouped`` code search weights the triples inside a segment 10 times more and
    runs 5 times the steps (two private constants of :mod:`mer_audiolime.explain.samplers` are swapped and
    restored, and the code cache is cleared on entry and exit)."""
    from mer_audiolime.explain import samplers

    saved = samplers._W_TRIPLE, samplers._SEARCH_STEPS
    samplers._W_TRIPLE, samplers._SEARCH_STEPS = 10 * saved[0], 5 * saved[1]
    samplers._grouped_codes_cached.cache_clear()
    try:
        yield
    finally:
        samplers._W_TRIPLE, samplers._SEARCH_STEPS = saved
        samplers._grouped_codes_cached.cache_clear()


def design_part(groups: np.ndarray, alt_search: bool) -> dict:
    out = {"library": aliased_counts(grouped_codes(groups), groups)}
    if alt_search:
        import time

        with heavier_search():
            t0 = time.perf_counter()
            codes = grouped_codes(groups)
            out["search_seconds"] = round(time.perf_counter() - t0, 1)
            out["triples_x10_steps_x5"] = aliased_counts(codes, groups)
        t0 = time.perf_counter()
        grouped_codes(groups)
        out["library_search_seconds"] = round(time.perf_counter() - t0, 1)
    return out


def aliases(masks: np.ndarray, triples: list) -> list:
    """Per component, the triples (not containing it) whose +-1 product column is +- its own column."""
    x = 2.0 * masks.astype(np.float64) - 1.0
    corr = np.abs(x.T @ products(x, triples)) / len(x)  # (K, triples)
    return [[triples[j] for j in np.flatnonzero(corr[c] > ALIAS) if c not in triples[j]]
            for c in range(masks.shape[1])]


def setup(model, clip, n_clips):
    mix, stems = benchmark_clip(clip, 10.0, n_clips)
    comps = build_components(mix, stems, sr=22050, segments=10, residual=False)
    assert list(comps.segments) == LAYOUT.tolist()
    names = list(model.output_names)
    cache = PredictionCache(len(comps), len(names))
    return comps, names, cache, component_predict_fn(comps, model, batch_size=16)


def grouped_adjusted(comps, names, cache, fn):
    groups = np.asarray(comps.segments)
    masks, weights = [], []
    for s in range(SEEDS):
        z = draw_masks(len(comps), 500, sampler="grouped-adjusted", rng=np.random.default_rng(s),
                       groups=groups)[:N]  # nested: bench_sampler's first N rows
        masks.append(z)
        weights.append(fit_weights(z, cache.predict(z, fn, batch_size=16), names, design="grouped-adjusted",
                                   groups=groups))
    return masks, np.stack(weights)


def rates_part(clip, n_clips) -> dict:
    out = {}
    for name, model in benchmark_models().items():
        comps, names, cache, fn = setup(model, clip, n_clips)
        masks, w = grouped_adjusted(comps, names, cache, fn)
        triples = local_triples(np.asarray(comps.segments))["inside"]
        aliased = np.array([[len(a) > 0 for a in aliases(z, triples)] for z in masks])  # (S, K)
        med = np.median(w, axis=0)
        mad = 1.4826 * np.median(np.abs(w - med), axis=0)
        jumps = (np.abs(w - med) > JUMP * mad).any(axis=1)  # (S, K)
        out[name] = {"jump_rate_aliased": round(float(jumps[aliased].mean()), 4),
                     "jump_rate_other": round(float(jumps[~aliased].mean()), 4),
                     "jumps": int(jumps.sum()), "jumps_aliased": int((jumps & aliased).sum()),
                     "aliased_share_of_pairs": round(float(aliased.mean()), 4)}
        print(json.dumps({name: out[name]}), file=sys.stderr, flush=True)
    return out


def case_part(clip, n_clips, name) -> dict:
    model = benchmark_models()[name]
    comps, names, cache, fn = setup(model, clip, n_clips)
    k = len(comps)
    uz = [sample_masks(k, 1000, rng=s, exhaustive=False) for s in range(SEEDS)]
    uy = [cache.predict(z, fn, batch_size=16) for z in uz]
    u = np.stack([fit_weights(z, y, names) for z, y in zip(uz, uy)])
    masks, g = grouped_adjusted(comps, names, cache, fn)
    pooled = fit_weights(np.concatenate(uz), np.concatenate(uy), names)
    triples = local_triples(np.asarray(comps.segments))["inside"]
    alias_of = [aliases(z, triples) for z in masks]
    out = {}
    for t, output in enumerate(names):
        top = np.argsort(-np.abs(pooled[t]), kind="stable")[:6]
        sd_u = u[:, t].std(axis=0, ddof=1)
        sd_g = g[:, t].std(axis=0, ddof=1)
        rows, jumps = [], []
        for c in top.tolist():
            rows.append({"component": c, "weight": round(float(pooled[t, c]), 4),
                         "sd_uniform_1000": round(float(sd_u[c]), 4),
                         "sd_adjusted_250": round(float(sd_g[c]), 4),
                         "aliased_in_seeds": {str(s): [list(map(int, tr)) for tr in alias_of[s][c]]
                                              for s in range(SEEDS) if alias_of[s][c]}})
            dev = (g[:, t, c] - np.median(g[:, t, c])) / sd_u[c]
            for s in np.flatnonzero(np.abs(dev) > JUMP).tolist():
                jumps.append({"seed": s, "component": c, "deviation_in_uniform_sd": round(float(dev[s]), 1),
                              "aliased_with": [list(map(int, tr)) for tr in alias_of[s][c]]})
        out[output] = {"top6": rows, "jumps": jumps,
                       "share_of_weights_less_noisy": round(float(np.mean(sd_g <= sd_u)), 2)}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clip", default="synth0001")
    ap.add_argument("--n-clips", type=int, default=4)
    ap.add_argument("--rates", action="store_true", help="jump rates of aliased and other weights")
    ap.add_argument("--case", default=None, help="a model of bench_sampler.py to look at on the clip")
    ap.add_argument("--alt-search", action="store_true", help="also count for the heavier code search")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    result = {"clip": args.clip, "n_clips": args.n_clips, "seeds": SEEDS, "N": N,
              "design": design_part(LAYOUT, args.alt_search)}
    if args.rates:
        result["rates"] = rates_part(args.clip, args.n_clips)
    if args.case:
        result["case"] = {args.case: case_part(args.clip, args.n_clips, args.case)}
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
