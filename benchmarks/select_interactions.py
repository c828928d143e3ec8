"""Choose the interaction model of ``sampler="grouped-adjusted"`` on validation data, by a rule fixed before
the run (the second selection; the first, ``select_adjustment.py``, chose the pair set and its penalty).

Prints one JSON object. The rule (written and committed before the run):

* **Data:** as ``select_adjustment.py``: clip ``synth0001`` (not used by ``bench_sampler.py``), the
  benchmark's four models, K = 20 and K = 50, the ``grouped`` masks of seeds 0..19 at N = 250.
* **Candidates** (:func:`mer_audiolime.explain.adjustment.interaction_terms`), each with the chosen pairs
  (inside a segment and across neighbouring ones, ``pair_alpha = 1``):

  - the incumbent: those pairs only;
  - plus the triples inside a segment, ``higher_alpha`` in {1, 3, 10};
  - plus every term inside a segment up to its size (triples, quadruples, the whole segment),
    ``higher_alpha`` in {1, 3, 10};
  - plus the pairs of segments further apart, ``distant_alpha`` in {3, 10, 30}.

* **Score:** the same as ``select_adjustment.py``: per (model, K), the seed-stability of ``bench_sampler.py``
  (mean pairwise Spearman of the weights and top-5 Jaccard, averaged over the outputs) within each of the 4
  disjoint groups of 5 seeds, averaged over the groups; a candidate's score is the mean over the cases of
  Spearman + Jaccard.
* **Choice:** the highest score, adopted only if it beats the incumbent by more than 0.002 (a tie keeps the
  incumbent); among candidates within 0.002 of the best, the one with the fewest terms at K = 50.

Nothing here reads uniform sampling or ``synth0000``. ``--data DIR`` keeps the models' outputs as ``.npz``
files (one per model and K) and reuses them on a second run. Usage:
``python benchmarks/select_interactions.py [--data DIR]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from bench_sampler import benchmark_clip, benchmark_models
from mer_audiolime.explain.adjustment import fit_adjusted_surrogate
from mer_audiolime.explain.components import build_components
from mer_audiolime.explain.lime_audio import component_predict_fn
from mer_audiolime.explain.samplers import draw_masks
from mer_audiolime.explain.sampling import PredictionCache
from select_adjustment import grouped_stability

SEEDS = tuple(range(20))
N = 250
TIE = 0.002
INCUMBENT = "pairs"


def candidates() -> dict:
    """Label -> keyword arguments of :func:`fit_adjusted_surrogate` (besides the incumbent's pairs)."""
    out = {INCUMBENT: {}}
    for lam in (1.0, 3.0, 10.0):
        out[f"pairs+triples, higher_alpha={lam:g}"] = {"within_order": 3, "higher_alpha": lam}
    for lam in (1.0, 3.0, 10.0):
        out[f"pairs+whole segments, higher_alpha={lam:g}"] = {"within_order": 99, "higher_alpha": lam}
    for lam in (3.0, 10.0, 30.0):
        out[f"pairs+distant pairs, distant_alpha={lam:g}"] = {"distant_alpha": lam}
    return out


def case_data(model, mix, stems, segments, data_dir):
    """``(masks, outputs)`` per seed, the component groups and the output names of one (model, K)."""
    comps = build_components(mix, stems, sr=22050, segments=segments, residual=False)
    k, names = len(comps), list(model.output_names)
    groups = np.asarray(comps.segments)
    masks = [draw_masks(k, N, sampler="grouped", rng=np.random.default_rng(seed), groups=groups)
             for seed in SEEDS]
    path = None if data_dir is None else Path(data_dir) / f"data_{model.name}_K{k}.npz"
    if path is not None and path.exists():
        saved = np.load(path)
        assert np.array_equal(saved["masks"][:, :N], np.stack(masks)), f"{path} holds other masks"
        return [(m, y) for m, y in zip(masks, saved["outputs"][:, :N])], groups, names
    cache = PredictionCache(k, len(names))
    fn = component_predict_fn(comps, model, batch_size=16)
    outputs = [cache.predict(m, fn, batch_size=16) for m in masks]
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, masks=np.stack(masks), outputs=np.stack(outputs), groups=groups,
                 names=np.asarray(names))
    return list(zip(masks, outputs)), groups, names


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1, help="torch threads")
    ap.add_argument("--data", default=None, help="directory keeping the models' outputs between runs")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    mix, stems = benchmark_clip("synth0001")
    models = benchmark_models()
    cands = candidates()
    cases, n_terms, fit_seconds = {}, {}, {label: 0.0 for label in cands}
    t0 = time.perf_counter()
    for name, model in models.items():
        for segments in (4, 10):
            data, groups, names = case_data(model, mix, stems, segments, args.data)
            comp = [f"c{i}" for i in range(len(groups))]
            case = {}
            for label, kw in cands.items():
                t1 = time.perf_counter()
                per_seed = []
                for z, y in data:
                    atts = fit_adjusted_surrogate(z, y, groups=groups, output_names=names,
                                                  component_names=comp, seed=0, **kw)
                    per_seed.append(np.stack([atts[n].weights for n in names]))
                fit_seconds[label] += time.perf_counter() - t1
                case[label] = {key: round(v, 4) for key, v in grouped_stability(per_seed).items()}
                if segments == 10:
                    n_terms[label] = atts[names[0]].info["n_terms"]
            cases[f"{name}/K{len(groups)}"] = case
            print(json.dumps({f"{name}/K{len(groups)}": case}), file=sys.stderr, flush=True)
    scores = {label: round(float(np.mean([c[label]["spearman"] + c[label]["jaccard5"]
                                          for c in cases.values()])), 4) for label in cands}
    best = max(scores.values())
    tied = [label for label in cands if scores[label] >= best - TIE]
    chosen = min(tied, key=lambda label: n_terms[label])
    adopted = chosen != INCUMBENT and scores[chosen] > scores[INCUMBENT] + TIE
    result = {"benchmark": "select_interactions", "clip": "synth0001", "N": N, "seeds": list(SEEDS),
              "torch_threads": args.threads, "cases": cases, "scores": scores, "n_terms_at_K50": n_terms,
              "fit_seconds_total": {k: round(v, 1) for k, v in fit_seconds.items()},
              "chosen": chosen if adopted else INCUMBENT, "chosen_settings": cands[chosen] if adopted else {},
              "adopted": bool(adopted), "seconds": round(time.perf_counter() - t0, 1)}
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
