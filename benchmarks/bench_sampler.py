"""Model calls needed by each mask design to reach the seed-stability of uniform sampling at N = 1000.

Prints one JSON object. For every model (the zoo models and a randomly initialised CNN of the zoo's
architecture) and every K (5 stems x 4 segments = 20, 5 stems x 10 segments = 50) on synthetic clips from
:func:`mer_audiolime.datasets.synthetic.generate` (oracle stems, no residual, so K is exact):

1. Uniform masks (audioLIME's i.i.d. Bernoulli(1/2) rows), N = 1000, seeds 0..4: the LIME surrogate of every
   model output. ``stability`` is measured the same way for every design and N:

   - ``spearman``: mean over the outputs of the mean pairwise Spearman correlation of the weight vectors of
     the 5 seeds (10 pairs);
   - ``jaccard5``: the same with the Jaccard index of the top-5 components by absolute weight.

2. Each other design at N on a grid (seeds 0..4; the designs are nested, so each seed's masks at N are the
   first N rows of its masks at the largest N and are predicted once). Designs get the components' layout
   (``groups`` = segment of each component); only ``grouped`` uses it. ``grouped-adjusted`` draws the
   ``grouped`` masks (no extra model call) and fits them with the adjustment for within-segment pairs
   (:mod:`mer_audiolime.explain.adjustment`), with the settings ``select_adjustment.py`` chose on another
   clip.
3. ``n_at_equal_stability``: the smallest grid N from which on (at that N and every larger grid N) the design
   reaches both of uniform's N = 1000 scores; ``calls_ratio_at_equal_stability = model_calls(uniform, 1000) /
   model_calls(design, n_at_equal_stability)`` (``null`` when the grid's largest N does not reach them: the
   ratio is then below ``1000 / max(grid)``).

Amendment (2026-11-30, written before any run with it): the stability of one group of 5 seeds is a noisy
estimate of the expected 5-seed stability (at K = 50 uniform N = 1000's top-5 Jaccard ranged 0.67-0.76 over
4 disjoint groups of 5 seeds, as large as the differences being measured). With ``--seed-groups G`` the same
rule is applied a second time to the mean over G disjoint groups (seeds 0..5G-1) of the per-group
stability, for the reference and for every design (``seed_groups`` and
``calls_ratio_at_equal_stability_mean_of_groups``). Group 0 is seeds 0..4, so the registered figures are
unchanged and reported beside it.

Held-out extension (2026-11-30, written and committed before the run): four more clips that no choice
has looked at, ``synth0004`` .. ``synth0007`` of ``generate(n=8, seed=0)`` (``--n-clips 8``; a generation of
8 clips, so not the same set as the 4 above), each run with ``--ks 50 --designs grouped,grouped-adjusted
--seed-groups 4`` and every model. Reported: for each design the number of (model, clip) cases whose
``calls_ratio_at_equal_stability`` is >= 4 under the registered single-group rule and under the mean of
4 groups, with every case's ratios; no clip, model or case is dropped and nothing is rerun.

Equal noise (added 2026-11-30, before any run with it; not part of the rule above and no registered figure
changes): the scores summarise how much the weights move from seed to seed, and ``bench_noise_floor.py``
measures that movement directly. For each design and N, ``noise`` is the variance of each weight over all
the seeds run (``ddof=1``), averaged over outputs and components; ``n_at_equal_noise`` is the smallest grid
N from which on the design's noise is at most uniform N = 1000's, and ``calls_ratio_at_equal_noise`` is
``1000 / n_at_equal_noise`` (``null`` as above).

Beside the stability, ``agreement`` (not part of the rule) says whether the answer stayed the same: for each
design and N the mean over outputs and seeds of the Spearman correlation between the design's weights and
uniform's N = 1000 weights of the same seed. Two independent uniform N = 1000 answers agree at the level of
``uniform_at_1000.spearman`` (the same correlation between different seeds); a design that gives the same
answer approaches it from below as N grows.

Model calls are the unique masks sent to the model; every design shares one prediction cache per (model,
clip, K), so no mask is run twice. The rule above was fixed before the run. All designs run in this one
process on the same clips and models. Usage: ``python benchmarks/bench_sampler.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from itertools import combinations
from pathlib import Path

import numpy as np
from scipy import stats

from mer_audiolime.datasets.synthetic import Dataset, generate
from mer_audiolime.explain import fit_surrogate
from mer_audiolime.explain.adjustment import fit_adjusted_surrogate
from mer_audiolime.explain.components import build_components
from mer_audiolime.explain.lime_audio import component_predict_fn
from mer_audiolime.explain.samplers import draw_masks
from mer_audiolime.explain.sampling import PredictionCache, sample_masks
from mer_audiolime.models import build_model, pretrained_predictor, to_predictor

SEEDS = (0, 1, 2, 3, 4)
REFERENCE_N = 1000
GRID = (64, 100, 128, 150, 200, 250, 300, 400, 500)
#: The benchmark's zoo models (the v1 models; the synthetic-v2 models are trained on a different task suite).
ZOO_MODELS = ("a2e_synth_biased", "a2mid2e_synth_biased", "a2mid2e_synth_clean")


def benchmark_clip(clip: str = "synth0000", seconds: float = 10.0, n_clips: int = 4) -> tuple:
    """``(mix, stems)`` of one clip of the generated set (``n=n_clips, seed=0``; oracle stems, 22,050 Hz
    mono)."""
    with tempfile.TemporaryDirectory() as tmp:
        home = generate(Path(tmp) / "synth", n=n_clips, seed=0, duration=seconds, n_jobs=1, progress=False)
        track = Dataset(data_home=home, version="clean").track(clip)
        stems = {name: np.asarray(s, np.float32) for name, s in track.stems.items()}
    return np.sum(list(stems.values()), axis=0), stems


def benchmark_models() -> dict:
    """The zoo models of :data:`ZOO_MODELS` and a randomly initialised CNN of the zoo's architecture
    (cp_resnet, width 16, A2Mid2E head, untrained), as predictors."""
    models = {name: pretrained_predictor(name) for name in ZOO_MODELS}
    random_cnn = build_model("cp_resnet", backbone_kwargs={"base_channels": 16}, seed=0)
    models["random-cnn"] = to_predictor(random_cnn, name="random-cnn")
    return models


def stability(weights: list) -> dict:
    """``weights``: per seed a ``(T, K)`` array -> mean pairwise Spearman and top-5 Jaccard over outputs."""
    w = np.stack(weights)  # (S, T, K)
    rho, jac = [], []
    for t in range(w.shape[1]):
        for a, b in combinations(range(w.shape[0]), 2):
            rho.append(stats.spearmanr(w[a, t], w[b, t]).statistic)
            sa = set(np.argsort(-np.abs(w[a, t]), kind="stable")[:5])
            sb = set(np.argsort(-np.abs(w[b, t]), kind="stable")[:5])
            jac.append(len(sa & sb) / len(sa | sb))
    return {"spearman": float(np.mean(rho)), "jaccard5": float(np.mean(jac))}


def fit_weights(masks, outputs, names, *, design: str = "uniform", groups=None) -> np.ndarray:
    """LIME's weights ``(T, K)``; for ``grouped-adjusted`` with the adjustment for within-segment pairs."""
    comp = [f"c{i}" for i in range(masks.shape[1])]
    if design == "grouped-adjusted":
        atts = fit_adjusted_surrogate(masks, outputs, groups=groups, output_names=names, component_names=comp,
                                      seed=0)
    else:
        atts = fit_surrogate(masks, outputs, output_names=names, component_names=comp, seed=0)
    return np.stack([atts[n].weights for n in names])


def group_stability(weights: list, groups: int) -> dict:
    """:func:`stability` within each of ``groups`` disjoint groups of ``len(SEEDS)`` seeds, averaged."""
    size = len(SEEDS)
    parts = [stability(weights[g * size:(g + 1) * size]) for g in range(groups)]
    return {key: float(np.mean([p[key] for p in parts])) for key in ("spearman", "jaccard5")}


def equal_stability_n(curve: dict, reference: dict, grid) -> int | None:
    """Smallest grid N from which on (every larger grid N too) both scores reach the reference's."""
    reached = [n for n in grid if curve[n]["spearman"] >= reference["spearman"]
               and curve[n]["jaccard5"] >= reference["jaccard5"]]
    return next((n for n in grid if all(m in reached for m in grid if m >= n)), None)


def seed_noise(weights: list) -> float:
    """Variance of each weight over the seeds (``ddof=1``), averaged over outputs and components."""
    return float(np.stack(weights).var(axis=0, ddof=1).mean())


def equal_noise_n(noise: dict, reference: float, grid) -> int | None:
    """Smallest grid N from which on (every larger grid N too) the noise is at most the reference's."""
    return next((n for n in grid if all(noise[m] <= reference for m in grid if m >= n)), None)


def run_case(model, mix, stems, sr, *, segments, designs, grid, batch_size, seed_groups: int = 1) -> dict:
    comps = build_components(mix, stems, sr=sr, segments=segments, residual=False)
    k, names = len(comps), list(model.output_names)
    cache = PredictionCache(k, len(names))
    fn = component_predict_fn(comps, model, batch_size=batch_size)
    seeds = range(len(SEEDS) * seed_groups)  # group 0 = SEEDS, the registered rule
    t0 = time.perf_counter()
    ref = []
    for seed in seeds:
        masks = sample_masks(k, REFERENCE_N, rng=seed, exhaustive=False)
        ref.append(fit_weights(masks, cache.predict(masks, fn, batch_size=batch_size), names))
    reference = stability(ref[:len(SEEDS)])
    ref_calls = REFERENCE_N  # unique masks per seed at K >= 20 (duplicates have probability < 1e-3)
    ref_noise = seed_noise(ref)
    out = {"K": k, "uniform_at_1000": reference, "uniform_at_1000_noise": float(f"{ref_noise:.4g}"),
           "designs": {}}
    if seed_groups > 1:
        out["seed_groups"] = {"groups": seed_groups, "uniform_at_1000": group_stability(ref, seed_groups),
                              "designs": {}}
    for design in designs:
        per_n = {n: [] for n in grid}
        for seed in seeds:
            masks = draw_masks(k, max(grid), sampler=design, rng=np.random.default_rng(seed),
                               groups=comps.segments)
            outputs = cache.predict(masks, fn, batch_size=batch_size)
            for n in grid:
                per_n[n].append(fit_weights(masks[:n], outputs[:n], names, design=design,
                                            groups=comps.segments))
        curve = {n: stability(per_n[n][:len(SEEDS)]) for n in grid}
        n_eq = equal_stability_n(curve, reference, grid)
        agreement = {str(n): round(float(np.mean([
            stats.spearmanr(per_n[n][i][t], ref[i][t]).statistic
            for i in range(len(SEEDS)) for t in range(len(names))])), 4) for n in grid}
        out["designs"][design] = {
            "stability": {str(n): {key: round(v, 4) for key, v in s.items()} for n, s in curve.items()},
            "agreement": agreement,
            "n_at_equal_stability": n_eq,
            "calls_ratio_at_equal_stability": None if n_eq is None else round(ref_calls / n_eq, 2),
            "agreement_at_equal_stability": None if n_eq is None else agreement[str(n_eq)],
        }
        noise = {n: seed_noise(per_n[n]) for n in grid}
        n_noise = equal_noise_n(noise, ref_noise, grid)
        out["designs"][design].update(
            noise={str(n): float(f"{v:.4g}") for n, v in noise.items()}, n_at_equal_noise=n_noise,
            calls_ratio_at_equal_noise=None if n_noise is None else round(ref_calls / n_noise, 2))
        if seed_groups > 1:
            curve = {n: group_stability(per_n[n], seed_groups) for n in grid}
            n_eq = equal_stability_n(curve, out["seed_groups"]["uniform_at_1000"], grid)
            out["seed_groups"]["designs"][design] = {
                "stability": {str(n): {key: round(v, 4) for key, v in s.items()} for n, s in curve.items()},
                "n_at_equal_stability": n_eq,
                "calls_ratio_at_equal_stability": None if n_eq is None else round(ref_calls / n_eq, 2),
            }
    out["model_calls_total"] = cache.model_calls
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one zoo model, K = 20 only, short clip (smoke run)")
    ap.add_argument("--seconds", type=float, default=10.0, help="clip length in seconds")
    ap.add_argument("--designs", default="orthogonal,grouped,grouped-adjusted",
                    help="comma-separated designs besides uniform")
    ap.add_argument("--models", default=None, help="comma-separated subset of the models")
    ap.add_argument("--threads", type=int, default=1, help="torch threads")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--ks", default="20,50", help="comma-separated K (5 stems x K/5 segments)")
    ap.add_argument("--seed-groups", type=int, default=1,
                    help="also apply the rule to the mean over this many disjoint groups of 5 seeds")
    ap.add_argument("--clip", default="synth0000",
                    help="clip of the generated set: synth0000..synth0003 (synth0001 is "
                         "select_adjustment's), or up to synth0007 with --n-clips 8")
    ap.add_argument("--n-clips", type=int, default=4,
                    help="clips in the generated set (8 for the held-out extension's synth0004..synth0007)")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    designs = [d for d in args.designs.split(",") if d]
    seconds = 2.0 if args.quick else args.seconds
    mix, stems_sr = benchmark_clip(args.clip, seconds, args.n_clips)
    sr = 22050
    models = benchmark_models()
    if args.models:
        models = {k: v for k, v in models.items() if k in args.models.split(",")}
    if args.quick:
        models = dict(list(models.items())[:1])
    ks = {"K20": 4} if args.quick else {f"K{k}": int(k) // 5 for k in args.ks.split(",")}
    result = {"benchmark": "bench_sampler", "clip": args.clip, "n_clips": args.n_clips,
              "clip_seconds": seconds, "seeds": list(SEEDS),
              "reference": f"uniform, N = {REFERENCE_N}", "grid": list(GRID), "torch_threads": args.threads,
              "cpu_count": os.cpu_count(), "models": {}}
    for name, model in models.items():
        result["models"][name] = {key: run_case(model, mix, stems_sr, sr, segments=seg, designs=designs,
                                                grid=GRID, batch_size=args.batch_size,
                                                seed_groups=args.seed_groups)
                                  for key, seg in ks.items()}
        print(json.dumps({name: result["models"][name]}), file=sys.stderr, flush=True)
    summary = {}
    for design in designs:
        summary[design] = {key: {name: result["models"][name][key]["designs"][design]
                                 ["calls_ratio_at_equal_stability"] for name in result["models"]}
                           for key in ks}
    result["calls_ratio_at_equal_stability"] = summary
    if args.seed_groups > 1:
        result["seed_groups"] = args.seed_groups
        result["calls_ratio_at_equal_stability_mean_of_groups"] = {
            design: {key: {name: result["models"][name][key]["seed_groups"]["designs"][design]
                           ["calls_ratio_at_equal_stability"] for name in result["models"]} for key in ks}
            for design in designs}
    result["calls_ratio_at_equal_noise"] = {
        design: {key: {name: result["models"][name][key]["designs"][design]["calls_ratio_at_equal_noise"]
                       for name in result["models"]} for key in ks} for design in designs}
    result["agreement_at_equal_stability"] = {
        design: {key: {name: result["models"][name][key]["designs"][design]["agreement_at_equal_stability"]
                       for name in result["models"]} for key in ks} for design in designs}
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
