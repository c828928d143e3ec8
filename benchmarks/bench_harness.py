"""Cost of the evaluation harness, printed as JSON.

1. ``suite_vs_explain``: model calls and wall time of the full per-track suite (explanation + fidelity +
   5-seed stability + convergence + chain, i.e. ``evaluate_track``) relative to one explanation of the same
   track, for the standard suite (5 stems, enumerated; stability on a sampled 5 stems x 2 segments setting,
   which adds up to 2**10 model calls) and the ``segments`` suite (5 stems x 4 segments, sampled).
2. ``workers``: wall time of ``evaluate`` over the same tracks with 1 and with 2 worker processes (tables and
   figures off, so only the per-track work is timed); ``speedup_2_vs_1``, in steady state (after a warm-up
   run on other clips with the same pool, as in a long run) and cold (a fresh pool on 4 clips, where process
   start-up and model loading dominate). ``speedup_2_vs_1`` compares two workers with one worker of the same
   capacity (one torch thread each): the harness's parallel efficiency. Target: >= 1.6x in steady state.
   ``speedup_2_vs_in_process`` compares with ``jobs=1``, whose model already uses both cores through torch's
   own threads, so it is bounded by the single-threaded share of the per-track work.

The model is the first shipped synthetic zoo model (a realistic CNN), run on clips of the synthetic benchmark
generated into a temporary folder. Usage: ``python benchmarks/bench_harness.py [--tracks 8] [--model NAME]``.
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


def per_track(model_spec, home, track_id, suite_name):
    from mer_audiolime.explain import explain
    from mer_audiolime.evaluation.runner import _dataset, evaluate_track, resolve_model
    from mer_audiolime.evaluation.suites import load_suite

    suite = load_suite(suite_name)
    model = resolve_model(model_spec)
    track = _dataset("synthetic", str(home), "clean").track(track_id)
    audio, sr = track.audio
    cfg = suite["explain"]
    t0 = time.perf_counter()
    exp = explain(np.asarray(audio), model=model, sr=int(sr), stems=track.stems, segments=cfg["segments"],
                  num_samples=cfg["num_samples"], seed=cfg["seeds"][0], batch_size=cfg["batch_size"],
                  show_progress=False)
    one_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    rows = evaluate_track(track_id, model_spec=model_spec, dataset=("synthetic", str(home), "clean"), suite=suite,
                          model_name="bench")
    suite_s = time.perf_counter() - t0
    suite_calls = int(rows.loc[rows.metric == "model_calls", "value"].iloc[0])
    one_calls = int(exp.timings["model_calls"])
    return {"K": len(exp.components), "explain_calls": one_calls, "suite_calls": suite_calls,
            "calls_ratio": round(suite_calls / one_calls, 3), "explain_s": round(one_s, 3),
            "suite_s": round(suite_s, 3), "time_ratio": round(suite_s / one_s, 3)}


def _shutdown_pool():
    """Stop joblib's reusable loky pool so the next parallel run starts cold."""
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor().shutdown(wait=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Harness cost benchmark (prints JSON).")
    ap.add_argument("--tracks", type=int, default=24, help="tracks for the worker comparison (default 24)")
    ap.add_argument("--model", default=None, help="zoo name or module:factory (default: first shipped model)")
    args = ap.parse_args(argv)

    from mer_audiolime.datasets.synthetic import generate
    from mer_audiolime.evaluation.benchmark import benchmark_models
    from mer_audiolime.evaluation.runner import evaluate, load_tracks

    model = args.model or benchmark_models()[0][0]
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "synth"
        n = max(60, int(np.ceil(args.tracks / 0.15)) + 2)
        generate(home, n=n, seed=0, variant="both", n_jobs=2, progress=False)
        ids = load_tracks("synthetic", data_home=str(home), version="clean", split="test")
        suite_cost = {name: per_track(model, home, ids[0], name) for name in ("standard", "segments")}
        suite = {"name": "bench-workers", "tracks": {"split": "test", "limit": args.tracks},
                 "explain": {"seeds": [0, 1, 2, 3, 4]}}
        warm = {"name": "bench-warmup", "tracks": {"split": "validation", "limit": 4},
                "explain": {"seeds": [0, 1, 2, 3, 4]}}
        times, cold = {}, {}
        import torch

        default_threads = torch.get_num_threads()
        # "1w": one worker of the same capacity as each of the two (one torch thread); "1": this process with
        # torch's default threads (what jobs=1 does); "2": two worker processes (loky gives each one thread)
        for label, jobs, threads in (("1w", 1, 1), ("1", 1, default_threads), ("2", 2, default_threads)):
            from mer_audiolime.evaluation.runner import resolve_model

            torch.set_num_threads(threads)
            resolve_model.cache_clear()
            _shutdown_pool()
            t0 = time.perf_counter()
            evaluate(model, dataset="synthetic", data_home=home, suite=warm, out_dir=Path(tmp) / f"w{label}",
                     jobs=jobs, progress=False, write_reports=False)
            cold[label] = time.perf_counter() - t0
            t0 = time.perf_counter()
            evaluate(model, dataset="synthetic", data_home=home, suite=suite, out_dir=Path(tmp) / f"j{label}",
                     jobs=jobs, progress=False, write_reports=False)
            times[label] = time.perf_counter() - t0
        torch.set_num_threads(default_threads)
    result = {
        "benchmark": "bench_harness", "model": model, "cpu_count": os.cpu_count(), "python": sys.version.split()[0],
        "suite_vs_explain": suite_cost,
        "workers": {"tracks": args.tracks, "one_worker_1_thread_s": round(times["1w"], 2),
                    "in_process_all_threads_s": round(times["1"], 2), "two_workers_s": round(times["2"], 2),
                    "speedup_2_vs_1": round(times["1w"] / times["2"], 3),
                    "speedup_2_vs_in_process": round(times["1"] / times["2"], 3),
                    "cold_4_tracks_s": {k: round(v, 2) for k, v in cold.items()}},
        "targets": {"standard_calls_ratio<=2": suite_cost["standard"]["calls_ratio"] <= 2,
                    "standard_time_ratio<=2": suite_cost["standard"]["time_ratio"] <= 2,
                    "speedup>=1.6": times["1w"] / times["2"] >= 1.6},
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
