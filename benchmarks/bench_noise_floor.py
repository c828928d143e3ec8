"""How far a mask design can go at K = 50: the seed noise that the interaction model cannot remove.

Prints one JSON object. ``bench_sampler.py`` finds ``grouped-adjusted`` about 4x cheaper than uniform sampling
at K = 50 on most cases but not all. This benchmark asks how much better *any* fit of the adjustment's
interaction model could do: it gives the adjustment an interaction model fitted on 20 times as many rows
(the "oracle") and measures the noise left. The rule, written and committed before the run:

* **Data:** validation clip ``synth0001`` of ``generate(n=4, seed=0)`` (the clip ``select_adjustment.py``
  and ``select_interactions.py`` used; no ``bench_sampler.py`` clip is read), 5 stems x 10 segments
  (K = 50), the four ``bench_sampler.py`` models. One prediction cache per model.
* **Masks:** ``grouped`` masks, seeds 0..19, 500 rows each; uniform masks (``bench_sampler.py``'s
  reference design), seeds 0..9, 1000 rows each.
* **Estimators**, each on seeds 0..9:

  - ``uniform@1000`` and ``uniform@250`` (the first 250 rows of the same masks);
  - ``lime@250``: LIME's surrogate of the first 250 ``grouped`` rows;
  - ``grouped-adjusted@250``: :func:`~mer_audiolime.explain.adjustment.fit_adjusted_surrogate` with the
    library's defaults, on the same rows;
  - ``oracle-adjusted@250``: the same estimate, ``lime(f - h) + population(h)``, with ``h`` (the default
    terms and penalties) fitted once on the 5000 ``grouped`` rows of seeds 10..19, which no estimate
    uses. The best that fitting the default interaction model can give at N = 250.

* **Noise:** per output and component the variance of the weight over the 10 seeds (``ddof=1``).
  ``var_all``: its mean over outputs and components; ``var_top``: its mean over outputs of the 6
  components with the largest absolute weight in the reference answer (LIME on the 10 uniform seeds' rows
  pooled, N = 10,000), where a top-5 ranking is decided.
* **Equal-noise calls ratio:** ``4 * var(uniform@1000) / var(estimator@250)``: how many times fewer calls
  than uniform sampling give the same noise, if uniform's variance falls as 1/N (``uniform@250``'s ratio,
  which should be near 1, checks this). 95 % interval: 2000 bootstrap resamples of the 10 seeds, the same
  resamples for every estimator.
* **Where LIME's noise comes from:** LIME is linear in the outputs, so each output splits into the oracle
  model's additive part, its interaction part and the rest; the noise (``var_all``) of LIME's fit of each at
  N = 250 (``grouped`` rows).
* **How local the rest is:** the share of the outputs' kernel-weighted variance on seeds 18..19's rows that
  is left by interaction models fitted to seeds 0..17's 9000 rows: additive only; the default pairs; plus
  the pairs of distant segments; plus the triples inside a segment; plus the triples over two neighbouring
  segments (penalty 1 on every term).

Nothing here chooses a setting: it is a measurement on validation data.

**Held-out extension** (written and committed after the validation run above and before any run of it):
``--light --clip C`` measures only ``uniform@1000``, ``uniform@250``, ``lime@250`` and
``grouped-adjusted@250`` on seeds 0..9 (the same masks as ``bench_sampler.py``'s seeds 0..9; no oracle,
no richer models), with the same noise, ratio and interval definitions. It is run on every clip
``bench_sampler.py`` has results for at K = 50 -- the registered clip ``synth0000``, the held-out
``synth0002`` and ``synth0003`` (``--n-clips 4``) and ``synth0004`` .. ``synth0007`` (``--n-clips 8``) --
and every model: 28 cases. Reported: each case's equal-noise calls ratio of ``grouped-adjusted@250``
(all components and top 6) with its interval; the number of cases whose ratio is >= 4 and whose
interval's lower end is >= 4. No case is dropped and nothing is rerun.

Usage: ``python benchmarks/bench_noise_floor.py [--jobs 2] [--models a,b] [--light --clip C --n-clips M]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from bench_sampler import benchmark_clip, benchmark_models, fit_weights, seed_noise
from diagnose_aliasing import local_triples
from diagnose_aliasing import products as term_features
from mer_audiolime.explain.adjustment import (PAIR_ALPHA, fit_interaction_model, interaction_terms,
                                              population_fit)
from mer_audiolime.explain.components import build_components
from mer_audiolime.explain.lime_audio import component_predict_fn
from mer_audiolime.explain.samplers import draw_masks
from mer_audiolime.explain.sampling import PredictionCache, sample_masks
from mer_audiolime.explain.surrogate import kernel_weights

CLIP = "synth0001"
SEGMENTS = 10
N = 250
GROUPED_SEEDS, GROUPED_ROWS, EST_SEEDS = 20, 500, 10
UNIFORM_SEEDS, UNIFORM_ROWS = 10, 1000
TOP = 6
BOOTSTRAP = 2000


def adjusted_with(model, masks, outputs, names, terms) -> np.ndarray:
    """``lime(f - h) + population(h)`` for a given interaction model ``h = (b, w, v)`` on ``terms``."""
    b, w, v = model
    fitted = b + masks @ w.T + term_features(masks, terms) @ v.T
    w_pop, _ = population_fit(b, w, v, terms, n_rows=len(masks))
    return fit_weights(masks, outputs - fitted, names) + w_pop


def seed_variance(per_seed: np.ndarray, top: np.ndarray | None) -> float:
    """Mean over outputs (and components, or the ``top`` components of each output) of the variance over
    seeds; ``per_seed`` is ``(S, T, K)``."""
    if top is None:
        return seed_noise(list(per_seed))
    var = per_seed.var(axis=0, ddof=1)  # (T, K)
    return float(np.mean([var[t, top[t]].mean() for t in range(var.shape[0])]))


def ratios(estimates: dict, top: np.ndarray, rng: np.random.Generator) -> dict:
    """Noise and equal-noise calls ratio of every estimator, with bootstrap intervals over seeds."""
    ref = estimates["uniform@1000"]
    scale = UNIFORM_ROWS / N
    n_seeds = ref.shape[0]
    draws = [rng.integers(0, n_seeds, n_seeds) for _ in range(BOOTSTRAP)]
    out = {}
    for label, est in estimates.items():
        row = {}
        for key, sel in (("all", None), ("top", top)):
            var = seed_variance(est, sel)
            row[f"var_{key}"] = float(f"{var:.4g}")
            if label == "uniform@1000":  # the reference: its ratio is 4 by definition
                continue
            point = scale * seed_variance(ref, sel) / var
            boot = [scale * seed_variance(ref[d], sel) / seed_variance(est[d], sel) for d in draws]
            lo, hi = np.percentile(boot, [2.5, 97.5])
            row[f"calls_ratio_{key}"] = round(point, 2)
            row[f"calls_ratio_{key}_ci95"] = [round(float(lo), 2), round(float(hi), 2)]
        out[label] = row
    return out


def extra_terms(groups: np.ndarray, kind: str) -> list:
    """Terms beyond the default pairs: ``distant`` pairs, ``within3`` triples inside a segment,
    ``neighbour3`` triples over two neighbouring segments."""
    if kind == "distant":
        terms, kinds = interaction_terms(groups, distant=True)
        return [t for t, k in zip(terms, kinds) if k == "distant"]
    key = {"within3": "inside", "neighbour3": "neighbour"}[kind]
    return [tuple(sorted(t)) for t in local_triples(groups)[key]]


def residual_shares(z, y, groups, default_terms) -> dict:
    """Share of the kernel-weighted variance of seeds 18..19's outputs left by richer interaction models
    fitted to seeds 0..17."""
    cut = (GROUPED_SEEDS - 2) * GROUPED_ROWS
    train_z, train_y, test_z, test_y = z[:cut], y[:cut], z[cut:], y[cut:]
    pi = kernel_weights(test_z)

    def wvar(r):
        centred = r - pi @ r / pi.sum()
        return float((pi[:, None] * centred**2).sum() / pi.sum())

    total = wvar(test_y)
    out = {}
    terms = []
    for label, more in (("additive", None), ("default pairs", "default"), ("+ distant pairs", "distant"),
                        ("+ triples in a segment", "within3"), ("+ triples over neighbours", "neighbour3")):
        if more == "default":
            terms = terms + list(default_terms)
        elif more is not None:
            terms = terms + extra_terms(groups, more)
        b, w, v = fit_interaction_model(train_z, train_y, terms, pair_alpha=1.0)
        left = test_y - (b + test_z @ w.T + term_features(test_z, terms) @ v.T)
        out[label] = {"terms": len(terms), "share_left": round(wvar(left) / total, 4)}
    return out


def run_model(name: str, threads: int = 1, batch_size: int = 16, *, clip: str = CLIP, n_clips: int = 4,
              light: bool = False) -> dict:
    """Every measurement of the module docstring for one model (``light``: the held-out extension's)."""
    import torch

    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    model = benchmark_models()[name]
    mix, stems = benchmark_clip(clip, 10.0, n_clips)
    comps = build_components(mix, stems, sr=22050, segments=SEGMENTS, residual=False)
    k, names = len(comps), list(model.output_names)
    groups = np.asarray(comps.segments)
    cache = PredictionCache(k, len(names))
    fn = component_predict_fn(comps, model, batch_size=batch_size)
    # the designs are nested: the first N rows of a seed's 500 are its N-row design
    gz = [draw_masks(k, N if light else GROUPED_ROWS, sampler="grouped", rng=np.random.default_rng(s),
                     groups=comps.segments) for s in range(EST_SEEDS if light else GROUPED_SEEDS)]
    gy = [cache.predict(m, fn, batch_size=batch_size) for m in gz]
    uz = [sample_masks(k, UNIFORM_ROWS, rng=s, exhaustive=False) for s in range(UNIFORM_SEEDS)]
    uy = [cache.predict(m, fn, batch_size=batch_size) for m in uz]
    gz = [m.astype(np.float64) for m in gz]
    terms, kinds = interaction_terms(groups)
    assert set(kinds) == {"pair"}
    oracle = None if light else fit_interaction_model(np.concatenate(gz[EST_SEEDS:]),
                                                      np.concatenate(gy[EST_SEEDS:]), terms,
                                                      pair_alpha=PAIR_ALPHA)
    labels = ["uniform@1000", "uniform@250", "lime@250", "grouped-adjusted@250"]
    est = {key: [] for key in labels + ([] if light else ["oracle-adjusted@250"])}
    parts = {"additive": [], "interactions": [], "rest": []}
    for s in range(EST_SEEDS):
        z, y = gz[s][:N], gy[s][:N]
        est["uniform@1000"].append(fit_weights(uz[s], uy[s], names))
        est["uniform@250"].append(fit_weights(uz[s][:N], uy[s][:N], names))
        est["lime@250"].append(fit_weights(z, y, names))
        est["grouped-adjusted@250"].append(fit_weights(z, y, names, design="grouped-adjusted", groups=groups))
        if light:
            continue
        if s == 0:  # the composition used for the oracle reproduces the library's estimate on its own fit
            own = fit_interaction_model(z, y, terms, pair_alpha=PAIR_ALPHA)
            diff = np.abs(adjusted_with(own, z, y, names, terms) - est["grouped-adjusted@250"][0]).max()
            assert diff < 1e-9, f"oracle composition differs from fit_adjusted_surrogate by {diff}"
        est["oracle-adjusted@250"].append(adjusted_with(oracle, z, y, names, terms))
        b, w, v = oracle
        additive = b + z @ w.T
        inter = term_features(z, terms) @ v.T
        for label, part in (("additive", additive), ("interactions", inter), ("rest", y - additive - inter)):
            parts[label].append(fit_weights(z, part, names))
    est = {key: np.stack(val) for key, val in est.items()}
    pooled = fit_weights(np.concatenate(uz), np.concatenate(uy), names)
    top = np.argsort(-np.abs(pooled), axis=1, kind="stable")[:, :TOP]
    out = {"K": k, "outputs": names, "model_calls": cache.model_calls,
           "estimators": ratios(est, top, np.random.default_rng(0))}
    if not light:
        out["lime_noise_by_part"] = {key: float(f"{seed_variance(np.stack(v), None):.4g}")
                                     for key, v in parts.items()}
        out["lime_noise_by_part"]["whole output"] = float(f"{seed_variance(est['lime@250'], None):.4g}")
        out["share_of_variance_left"] = residual_shares(np.concatenate(gz), np.concatenate(gy), groups, terms)
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=None, help="comma-separated subset of the models")
    ap.add_argument("--jobs", type=int, default=1, help="models run at once, one process each")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per process")
    ap.add_argument("--light", action="store_true",
                    help="the held-out extension: no oracle and no richer models (module docstring)")
    ap.add_argument("--clip", default=CLIP,
                    help="clip of the generated set (the validation clip unless --light)")
    ap.add_argument("--n-clips", type=int, default=4, help="clips in the generated set (8 for synth0004..7)")
    args = ap.parse_args(argv)
    if args.clip != CLIP and not args.light:
        ap.error(f"only the validation clip {CLIP} is measured in full; pass --light for another clip")
    names = list(benchmark_models())
    if args.models:
        names = [n for n in names if n in args.models.split(",")]
    result = {"benchmark": "bench_noise_floor", "clip": args.clip, "n_clips": args.n_clips,
              "light": args.light, "K": 5 * SEGMENTS, "N": N,
              "grouped_seeds": EST_SEEDS if args.light else GROUPED_SEEDS, "estimate_seeds": EST_SEEDS,
              "uniform_seeds": UNIFORM_SEEDS, "top": TOP, "bootstrap": BOOTSTRAP,
              "torch_threads": args.threads, "cpu_count": os.cpu_count(), "models": {}}
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = {name: pool.submit(run_model, name, args.threads, clip=args.clip, n_clips=args.n_clips,
                                     light=args.light) for name in names}
        for name, fut in futures.items():
            result["models"][name] = fut.result()
            print(json.dumps({name: result["models"][name]}), file=sys.stderr, flush=True)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
