"""How often the registered sampler rule says ">= 4" for an estimator of known efficiency.

Prints one JSON object. ``bench_sampler.py``'s rule compares the stability of one group of 5 seeds (mean
pairwise Spearman of the weights, and top-5 Jaccard) of a design at N calls with that of one group of 5
uniform seeds at N = 1000; the design gets ``calls_ratio_at_equal_stability >= 4`` when it reaches both
scores at N = 250 (and at every larger grid N). Both scores are statistics of 5 random answers, so the
verdict is itself random. This benchmark measures how random, and what a design must be worth to pass it.
The rule, written and committed before the run:

* **Cases:** every case ``bench_sampler.py`` has K = 50 results for: the registered clip ``synth0000`` and
  the held-out ``synth0002``, ``synth0003`` (``generate(n=4, seed=0)``) and ``synth0004`` .. ``synth0007``
  (``generate(n=8, seed=0)``), 5 stems x 10 segments, the four ``bench_sampler.py`` models: 28 cases. Run in
  the order synth0000, synth0004 .. 0007, synth0002, 0003; a case not finished when the session's time runs
  out is reported as not run (none is dropped for its result).
* **Answers per case**, seeds 0..14 (seeds 0..4 are ``bench_sampler.py``'s, same masks):

  - ``U``: LIME's weights from uniform masks, N = 1000 (the reference);
  - ``G``: ``grouped-adjusted`` at N = 250 (``grouped`` masks, the library's adjustment defaults), the
    same estimate ``bench_sampler.py`` scores at N = 250.

* **Pass probabilities** (2000 random draws per case, ``numpy.random.default_rng(0)``); a draw passes when
  the estimator's group reaches both of the reference group's scores (``>=``, as in the rule):

  - ``p_grouped_adjusted``: reference = 5 of the 15 ``U`` seeds, estimator = 5 of the 15 ``G`` seeds, both
    drawn at random: the chance that the rule's N = 250 step passes for this case;
  - ``p_efficiency_4``: reference = 5 random ``U`` seeds, estimator = 5 of the other 10 ``U`` seeds. An
    estimator exactly 4x as efficient as uniform gives, at 250 calls, answers distributed like uniform's at
    1000: this is its chance of passing;
  - ``p_efficiency_8``: estimator = the means of 5 disjoint pairs of the other 10 ``U`` seeds. The mean of
    two independent N = 1000 answers has uniform's expectation and half its covariance (uniform at
    N = 2000 to first order): an estimator 8x as efficient.

* **Also reported:** the registered draw (both groups = seeds 0..4; its scores must equal
  ``bench_sampler.py``'s published group-0 scores at N = 1000 and N = 250), the sums of the probabilities
  over the cases (the expected number of passing cases) and their products (the chance that every case
  passes, treating cases as independent).

**Amendment** (written and committed after the run started and before any of its output was read): the
scores of a group of 5 seeds are means of pair scores, so their expectation is the mean pair score over
all 105 pairs of the 15 seeds. ``expected_stability`` reports it for ``U`` and ``G``, the difference
``G - U`` of each score with a jackknife standard error (leave one seed out, the two sets' variances
added), and ``reached``: whether both differences are >= 0. This compares the expected 5-seed stability,
the quantity the rule estimates from one draw.

**Held-out check of ``select_design.py``'s heavier code search** (written and committed while
``select_design.py`` ran on the validation clip, before any of its output was read): ``--heavier-search``
recomputes ``G`` (seeds 0..14, N = 250) with that search's masks on all 28 cases and compares it with the
same kept ``U`` answers. It is run only if ``select_design.py`` chooses the heavier search. Reported beside
the library search's figures: ``expected_stability_reached``, ``registered_draw_passes``, the expected
passes and the chance that all pass. The library's design would change only if the heavier search reaches
the expected stability in at least as many of the 28 cases as the library's (27) and its expected passes
are not lower (25.45); nothing is rerun or dropped.

The probabilities describe these 15 seeds: the draws reuse them, so the Monte-Carlo error printed is only
the draws' and the seed-set's own error is not in it. The rule's further condition at N = 300 .. 500 is not
checked here, so ``p_grouped_adjusted`` is an upper bound on the chance of a ratio >= 4 (in the published
runs of seeds 0..4 no case that passed at N = 250 failed at a larger N). Nothing here chooses a setting.

Each case's answers are saved to ``--weights-dir`` (``.npz``) and reused, so a stopped run resumes. Usage:
``python benchmarks/bench_rule_power.py [--jobs 2] [--weights-dir DIR] [--cases synth0000@4/MODEL,...]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from pathlib import Path

import numpy as np
from scipy import stats

from bench_sampler import SEEDS, ZOO_MODELS, benchmark_clip, benchmark_models, fit_weights
from diagnose_aliasing import heavier_search
from mer_audiolime.explain.components import build_components
from mer_audiolime.explain.lime_audio import component_predict_fn
from mer_audiolime.explain.samplers import draw_masks
from mer_audiolime.explain.sampling import PredictionCache, sample_masks

CLIPS = (("synth0000", 4), ("synth0004", 8), ("synth0005", 8), ("synth0006", 8), ("synth0007", 8),
         ("synth0002", 4), ("synth0003", 4))
MODELS = (*ZOO_MODELS, "random-cnn")  # the keys of bench_sampler.benchmark_models(), in its order
N_SEEDS, REFERENCE_N, N, SEGMENTS, DRAWS, TOP = 15, 1000, 250, 10, 2000, 5
GROUP = len(SEEDS)


def case_answers(clip: str, n_clips: int, model_name: str, *, threads: int = 1, batch_size: int = 16,
                 heavier: bool = False) -> dict:
    """``U`` (seeds, outputs, K) at N = 1000 uniform and ``G`` at N = 250 grouped-adjusted, for one case
    (``heavier``: ``G`` only, with the masks of ``diagnose_aliasing.heavier_search``)."""
    import torch

    torch.set_num_threads(threads)
    mix, stems = benchmark_clip(clip, 10.0, n_clips)
    model = benchmark_models()[model_name]
    comps = build_components(mix, stems, sr=22050, segments=SEGMENTS, residual=False)
    k, names = len(comps), list(model.output_names)
    cache = PredictionCache(k, len(names))
    fn = component_predict_fn(comps, model, batch_size=batch_size)
    with heavier_search() if heavier else nullcontext():  # the search runs once, at the first draw
        grouped = [draw_masks(k, N, sampler="grouped-adjusted", rng=np.random.default_rng(seed),
                              groups=comps.segments) for seed in range(N_SEEDS)]
    u, g = [], []
    t0 = time.perf_counter()
    for seed in range(N_SEEDS):
        if not heavier:
            masks = sample_masks(k, REFERENCE_N, rng=seed, exhaustive=False)
            u.append(fit_weights(masks, cache.predict(masks, fn, batch_size=batch_size), names))
        g.append(fit_weights(grouped[seed], cache.predict(grouped[seed], fn, batch_size=batch_size), names,
                             design="grouped-adjusted", groups=comps.segments))
    return {"U": np.stack(u) if u else None, "G": np.stack(g), "model_calls": cache.model_calls,
            "seconds": time.perf_counter() - t0}


def pair_scores(w: np.ndarray) -> tuple:
    """``w`` (n, T, K) -> ``(S, J)``, each (n, n): Spearman and top-5 Jaccard of answers i and j, averaged
    over the outputs (the per-pair terms of :func:`bench_sampler.stability`)."""
    n, t_out, k = w.shape
    s = np.zeros((n, n))
    j = np.zeros((n, n))
    for t in range(t_out):
        ranks = stats.rankdata(w[:, t], axis=1)
        s += np.corrcoef(ranks)
        top = np.zeros((n, k))
        order = np.argsort(-np.abs(w[:, t]), axis=1, kind="stable")[:, :TOP]
        np.put_along_axis(top, order, 1.0, axis=1)
        inter = top @ top.T
        j += inter / (2 * TOP - inter)
    return s / t_out, j / t_out


def group_score(s: np.ndarray, j: np.ndarray, idx) -> tuple:
    """Mean over the pairs of ``idx`` of the two pair scores (= :func:`bench_sampler.stability`)."""
    idx = np.asarray(idx)
    a, b = np.triu_indices(len(idx), 1)
    return float(s[idx[a], idx[b]].mean()), float(j[idx[a], idx[b]].mean())


def passes(est: tuple, ref: tuple) -> bool:
    return est[0] >= ref[0] and est[1] >= ref[1]


def rule_power(u: np.ndarray, g: np.ndarray, *, draws: int = DRAWS, seed: int = 0) -> dict:
    """Pass probabilities of the module docstring for one case's answers."""
    n = len(u)
    su, ju = pair_scores(u)
    sg, jg = pair_scores(g)
    pairs = [(a, b) for a in range(n) for b in range(a + 1, n)]
    pair_index = {p: i for i, p in enumerate(pairs)}
    sp, jp = pair_scores(np.stack([(u[a] + u[b]) / 2 for a, b in pairs]))
    rng = np.random.default_rng(seed)
    hits = {"p_grouped_adjusted": 0, "p_efficiency_4": 0, "p_efficiency_8": 0}
    for _ in range(draws):
        ref = group_score(su, ju, rng.choice(n, GROUP, replace=False))
        est = group_score(sg, jg, rng.choice(len(g), GROUP, replace=False))
        hits["p_grouped_adjusted"] += passes(est, ref)
        perm = rng.permutation(n)
        ref = group_score(su, ju, perm[:GROUP])
        hits["p_efficiency_4"] += passes(group_score(su, ju, perm[GROUP:2 * GROUP]), ref)
        rest = perm[GROUP:3 * GROUP]
        avg = [pair_index[tuple(sorted((int(rest[2 * i]), int(rest[2 * i + 1]))))] for i in range(GROUP)]
        hits["p_efficiency_8"] += passes(group_score(sp, jp, avg), ref)
    out = {key: round(v / draws, 4) for key, v in hits.items()}
    registered = {"uniform_at_1000": group_score(su, ju, range(GROUP)),
                  "grouped_adjusted_at_250": group_score(sg, jg, range(GROUP))}
    out["registered_draw"] = {key: {"spearman": round(v[0], 4), "jaccard5": round(v[1], 4)}
                              for key, v in registered.items()}
    out["registered_draw"]["passes"] = passes(registered["grouped_adjusted_at_250"],
                                              registered["uniform_at_1000"])
    return out


def expected_stability(u: np.ndarray, g: np.ndarray) -> dict:
    """Mean pair score over all pairs of seeds for ``U`` and ``G``, and ``G - U`` with a jackknife SE."""
    def mean_and_jackknife(w):
        n = len(w)
        scores = pair_scores(w)
        full = np.array(group_score(*scores, range(n)))
        loo = np.array([group_score(*scores, [k for k in range(n) if k != i]) for i in range(n)])
        return full, (n - 1) / n * ((loo - loo.mean(axis=0)) ** 2).sum(axis=0)

    (fu, vu), (fg, vg) = mean_and_jackknife(u), mean_and_jackknife(g)
    keys = ("spearman", "jaccard5")
    out = {"uniform_at_1000": dict(zip(keys, np.round(fu, 4).tolist())),
           "grouped_adjusted_at_250": dict(zip(keys, np.round(fg, 4).tolist())),
           "difference": {k: {"value": round(float(d), 4), "se": round(float(se), 4)}
                          for k, d, se in zip(keys, fg - fu, np.sqrt(vu + vg))}}
    out["reached"] = bool(np.all(fg >= fu))
    return out


def run_case(spec: tuple, weights_dir: str, threads: int, heavier: bool = False) -> tuple:
    clip, n_clips, model_name = spec
    path = Path(weights_dir) / f"{clip}_n{n_clips}_{model_name}.npz"
    if heavier and not path.exists():
        raise FileNotFoundError(f"{path} is missing: run without --heavier-search first (it keeps the "
                                "uniform answers that the heavier search is compared with).")
    own = path.with_name(path.stem + "_heavier.npz") if heavier else path
    if not own.exists():
        ans = case_answers(clip, n_clips, model_name, threads=threads, heavier=heavier)
        tmp = own.with_suffix(".tmp.npz")
        kept = {"G": ans["G"]} if heavier else {"U": ans["U"], "G": ans["G"]}
        np.savez(tmp, **kept, model_calls=ans["model_calls"], seconds=ans["seconds"])
        os.replace(tmp, own)
    with np.load(path) as base, np.load(own) as data:
        out = rule_power(base["U"], data["G"])
        out["expected_stability"] = expected_stability(base["U"], data["G"])
        out.update(model_calls=int(data["model_calls"]), seconds=round(float(data["seconds"]), 1))
    return spec, out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=1, help="cases run at once (one process each)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per process")
    ap.add_argument("--weights-dir", default="out/bench_rule_power",
                    help="where each case's answers are kept (.npz) and reused")
    ap.add_argument("--heavier-search", action="store_true",
                    help="G from select_design.py's heavier code search, against the kept uniform answers")
    ap.add_argument("--cases", default=None,
                    help="comma-separated subset, each CLIP@N_CLIPS/MODEL (default: all 28, in the rule's "
                         "order)")
    args = ap.parse_args(argv)
    specs = [(c, n, m) for c, n in CLIPS for m in MODELS]
    if args.cases:
        wanted = set(args.cases.split(","))
        specs = [s for s in specs if f"{s[0]}@{s[1]}/{s[2]}" in wanted]
    Path(args.weights_dir).mkdir(parents=True, exist_ok=True)
    result = {"benchmark": "bench_rule_power", "heavier_search": args.heavier_search, "K": 5 * SEGMENTS,
              "seeds": N_SEEDS, "N": N, "reference_n": REFERENCE_N, "draws": DRAWS,
              "torch_threads": args.threads, "cpu_count": os.cpu_count(), "cases": {}}
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(run_case, spec, args.weights_dir, args.threads, args.heavier_search)
                   for spec in specs]
        for fut in futures:
            (clip, n_clips, model_name), out = fut.result()
            key = f"{clip}@{n_clips}/{model_name}"
            result["cases"][key] = out
            print(json.dumps({key: out}), file=sys.stderr, flush=True)
    probs = ("p_grouped_adjusted", "p_efficiency_4", "p_efficiency_8")
    cases = result["cases"].values()
    result["summary"] = {
        "cases_run": len(result["cases"]),
        "registered_draw_passes": int(sum(c["registered_draw"]["passes"] for c in cases)),
        "expected_passes": {p: round(float(sum(c[p] for c in cases)), 2) for p in probs},
        "chance_all_pass": {p: float(f"{np.prod([c[p] for c in cases]):.3g}") for p in probs},
        "monte_carlo_se_max": round(0.5 / np.sqrt(DRAWS), 4),
        "expected_stability_reached": int(sum(c["expected_stability"]["reached"] for c in cases)),
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
