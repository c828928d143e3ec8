"""The model-forward floor of an explanation: today's eager forward against the inference-optimised one.

Prints one JSON object. For each zoo model, one batch of ``--batch-size`` (16, the explainer's
default) perturbed 10-s inputs (masked sums of the stems of a synthetic clip, as ``explain`` composes them)
goes through

- ``eager``: the zoo model as :func:`~mer_audiolime.models.zoo.load_model` returns it, wrapped by
  ``to_predictor(model, optimize=False)`` (``torch.inference_mode``; the path before the optimisation);
- ``fast``: ``to_predictor(model)`` (default ``optimize=True``: :func:`~mer_audiolime.models.inference.
  optimize_for_inference`).

Both predictors see the same batch, alternately (eager, fast, eager, fast, ...) for ``--repeats`` rounds after
a warm-up call each, at every torch thread count in ``--threads``; ``floor_speedup = median(eager) /
median(fast)`` per model and thread count, and ``max_abs_diff`` is the largest output difference. Interleaving
and medians are what make a ratio measured on a shared, loaded machine meaningful; absolute seconds are not.
Usage: ``python benchmarks/bench_floor.py [--repeats 9] [--threads 1,2]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from mer_audiolime.datasets.synthetic import Dataset, generate
from mer_audiolime.explain.components import build_components
from mer_audiolime.explain.sampling import sample_masks
from mer_audiolime.models import list_models, load_model, to_predictor


def batch_of_inputs(batch_size: int, seconds: float) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        home = generate(Path(tmp) / "synth", n=4, seed=0, duration=seconds, n_jobs=1, progress=False)
        track = Dataset(data_home=home, version="clean").track("synth0000")
        stems = {name: np.asarray(s, np.float32) for name, s in track.stems.items()}
    mix = np.sum(list(stems.values()), axis=0)
    comps = build_components(mix, stems, sr=22050, segments=10, residual=False)
    masks = sample_masks(len(comps), batch_size, rng=0, exhaustive=False)
    return comps.compose(masks)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--threads", default="1,2", help="comma-separated torch thread counts")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--models", default=None, help="comma-separated subset of the zoo")
    args = ap.parse_args(argv)
    x = batch_of_inputs(args.batch_size, args.seconds)
    names = args.models.split(",") if args.models else list_models()
    result = {"benchmark": "bench_floor", "batch_size": args.batch_size, "clip_seconds": args.seconds,
              "repeats": args.repeats, "cpu_count": os.cpu_count(), "torch": torch.__version__,
              "load_average_start": list(os.getloadavg()), "models": {}}
    for name in names:
        model = load_model(name)
        paths = {"eager": to_predictor(model, optimize=False), "fast": to_predictor(model)}
        per_model = {}
        for threads in (int(t) for t in args.threads.split(",")):
            torch.set_num_threads(threads)
            outs = {key: p(x) for key, p in paths.items()}  # warm-up (and the numerics check)
            times = {key: [] for key in paths}
            for _ in range(args.repeats):
                for key, p in paths.items():
                    t0 = time.perf_counter()
                    p(x)
                    times[key].append(time.perf_counter() - t0)
            med = {key: float(np.median(v)) for key, v in times.items()}
            per_model[f"threads_{threads}"] = {
                "eager_s": round(med["eager"], 4), "fast_s": round(med["fast"], 4),
                "floor_speedup": round(med["eager"] / med["fast"], 3),
                "max_abs_diff": float(np.max(np.abs(outs["eager"] - outs["fast"]))),
            }
        result["models"][name] = per_model
    result["load_average_end"] = list(os.getloadavg())
    speedups = [v["floor_speedup"] for m in result["models"].values() for v in m.values()]
    result["floor_speedup_min"] = min(speedups)
    result["floor_speedup_median"] = float(np.median(speedups))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
