"""Choose the settings of ``sampler="grouped-adjusted"`` on validation data, by a rule fixed before the run.

Prints one JSON object. The rule (written and committed before the run):

* **Data:** clip ``synth0001`` of :func:`mer_audiolime.datasets.synthetic.generate` (``n=4, seed=0``, 10 s,
  oracle stems, no residual). ``bench_sampler.py`` measures on ``synth0000``; this clip is not used there.
* **Models and K:** the benchmark's models (``bench_sampler.benchmark_models``: the three zoo models and the
  untrained ``cp_resnet``), K = 20 (5 stems x 4 segments) and K = 50 (5 x 10).
* **Masks:** the ``grouped`` design, seeds 0..19, N = 250 (a quarter of uniform's N = 1000).
* **Candidates:** the interaction model's pairs inside a segment, or inside a segment and across
  neighbouring segments (``neighbours``), times the pair penalty ``pair_alpha`` in {0.3, 1, 3, 10}.
* **Score:** for each (model, K), the seed-stability of ``bench_sampler.py`` (mean pairwise Spearman of the
  weights and top-5 Jaccard, averaged over the outputs) computed within each of the 4 disjoint groups of 5
  seeds and averaged over the groups; the candidate's score is the mean over the (model, K) cases of
  Spearman + Jaccard.
* **Choice:** the candidate with the highest score, adopted only if it beats plain ``grouped`` (the
  unadjusted LIME fit of the same masks). A score within 0.002 of the best counts as a tie; ties go to the
  larger ``pair_alpha`` (the smaller adjustment), then to pairs inside a segment only.

Nothing here reads uniform sampling or ``synth0000``: the calls ratio is measured afterwards by
``bench_sampler.py`` with the chosen settings. Usage: ``python benchmarks/select_adjustment.py``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from bench_sampler import benchmark_clip, benchmark_models, fit_weights, stability
from mer_audiolime.explain.adjustment import fit_adjusted_surrogate
from mer_audiolime.explain.components import build_components
from mer_audiolime.explain.lime_audio import component_predict_fn
from mer_audiolime.explain.samplers import draw_masks
from mer_audiolime.explain.sampling import PredictionCache

SEEDS = tuple(range(20))
N = 250
PAIR_ALPHAS = (0.3, 1.0, 3.0, 10.0)
TIE = 0.002


def grouped_stability(per_seed: list) -> dict:
    groups = [stability(per_seed[i:i + 5]) for i in range(0, len(per_seed), 5)]
    return {key: float(np.mean([g[key] for g in groups])) for key in ("spearman", "jaccard5")}


def adjusted_weights(masks, outputs, names, groups, *, neighbours, pair_alpha):
    comp = [f"c{i}" for i in range(masks.shape[1])]
    atts = fit_adjusted_surrogate(masks, outputs, groups=groups, output_names=names, component_names=comp,
                                  pair_alpha=pair_alpha, neighbours=neighbours, seed=0)
    return np.stack([atts[n].weights for n in names])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1, help="torch threads")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    mix, stems = benchmark_clip("synth0001")
    models = benchmark_models()
    candidates = {"grouped": None}
    for neighbours in (False, True):
        for lam in PAIR_ALPHAS:
            label = f"{'within+neighbours' if neighbours else 'within'}, pair_alpha={lam:g}"
            candidates[label] = (neighbours, lam)
    cases = {}
    t0 = time.perf_counter()
    for name, model in models.items():
        for segments in (4, 10):
            comps = build_components(mix, stems, sr=22050, segments=segments, residual=False)
            k, names = len(comps), list(model.output_names)
            groups = np.asarray(comps.segments)
            cache = PredictionCache(k, len(names))
            fn = component_predict_fn(comps, model, batch_size=16)
            data = []
            for seed in SEEDS:
                masks = draw_masks(k, N, sampler="grouped", rng=np.random.default_rng(seed), groups=groups)
                data.append((masks, cache.predict(masks, fn, batch_size=16)))
            case = {}
            for label, cand in candidates.items():
                if cand is None:
                    per_seed = [fit_weights(z, y, names) for z, y in data]
                else:
                    per_seed = [adjusted_weights(z, y, names, groups, neighbours=cand[0], pair_alpha=cand[1])
                                for z, y in data]
                case[label] = {key: round(v, 4) for key, v in grouped_stability(per_seed).items()}
            cases[f"{name}/K{k}"] = case
            print(json.dumps({f"{name}/K{k}": case}), file=sys.stderr, flush=True)
    scores = {label: round(float(np.mean([c[label]["spearman"] + c[label]["jaccard5"]
                                          for c in cases.values()])), 4) for label in candidates}
    best = max(scores[label] for label in candidates if candidates[label] is not None)
    tied = [label for label, cand in candidates.items() if cand is not None and scores[label] >= best - TIE]
    chosen = sorted(tied, key=lambda label: (-candidates[label][1], candidates[label][0]))[0]
    adopted = scores[chosen] > scores["grouped"]
    result = {"benchmark": "select_adjustment", "clip": "synth0001", "N": N, "seeds": list(SEEDS),
              "torch_threads": args.threads, "cases": cases, "scores": scores, "chosen": chosen,
              "chosen_settings": {"neighbours": candidates[chosen][0], "pair_alpha": candidates[chosen][1]},
              "adopted": bool(adopted), "seconds": round(time.perf_counter() - t0, 1)}
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
