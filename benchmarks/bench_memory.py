"""Peak memory of ``explain`` on long audio with a zoo model, against the same explanation of a 10 s clip.

Prints one JSON object. Each case runs in a fresh Python process (so its peak resident set size,
``ru_maxrss``, is its own) and explains synthetic audio generated in that process -- five stems (tones, a
noise-burst "drum" track, a bass line) that sum exactly to the mix -- with the zoo model
``a2mid2e_synth_clean``, oracle stems, 1 segment, N = 1000 samples (all 2^5 coalitions enumerated), seed 0,
batch size 16. The mix is written to a float WAV and explained from that file, as a user would:

- ``peak_rss_mb_10min``: a 10-minute clip (the target: <= 2048 MB; it was 9.2 GB at N = 16 before component
  storage and the per-call memory budget);
- ``peak_rss_mb_10s``: a 10 s clip, the normal case (its batches are not reduced by the budget);
- ``baseline_rss_mb``: the same process after imports and loading the model, before any audio exists;
- with ``--tf-grid`` also ``peak_rss_mb_10min_tf_grid`` and its component-building time (4 bands x 1 segment).

The memory budget of one model call is ``MER_AUDIOLIME_MEMORY_BUDGET_MB`` (default 768 MB; see
docs/explain.md). Usage: ``python benchmarks/bench_memory.py [--minutes 10] [--tf-grid]``. Timings come
from a shared machine: read them as rough.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

SR = 22050
MODEL = "a2mid2e_synth_clean"


def make_stems(seconds: float, seed: int = 0) -> dict:
    """Five float32 stems (1, L) at 22,050 Hz built block by block (no full-length float64 temporaries)."""
    import numpy as np

    n = int(seconds * SR)
    rng = np.random.default_rng(seed)
    stems = {name: np.zeros((1, n), np.float32) for name in ("vocals", "piano", "bass", "drums", "other")}
    block = SR * 10
    notes = {"vocals": 440.0, "piano": 261.6, "bass": 55.0, "other": 659.3}
    for start in range(0, n, block):
        t = (np.arange(start, min(n, start + block)) / SR).astype(np.float64)
        for name, f0 in notes.items():
            f = f0 * 2 ** (rng.integers(-5, 6) / 12)
            env = 0.5 + 0.5 * np.sin(2 * np.pi * 0.25 * t + rng.uniform(0, 6.3))
            tone = 0.08 * env * np.sin(2 * np.pi * f * t)
            stems[name][0, start : start + t.size] = tone.astype(np.float32)
        hits = (np.sin(2 * np.pi * 2.0 * t) > 0.95).astype(np.float64)
        noise = 0.1 * hits * rng.standard_normal(t.size)
        stems["drums"][0, start : start + t.size] = noise.astype(np.float32)
    return stems


def child(seconds: float, separator: str) -> dict:
    """Explain ``seconds`` of generated audio, read from a WAV file, in this process; return timings and peak
    RSS."""
    import tempfile
    from pathlib import Path

    import numpy as np
    import soundfile as sf

    from mer_audiolime.explain import explain
    from mer_audiolime.evaluation.runner import resolve_model

    model = resolve_model(MODEL)
    # warm-up on 1 s: import and kernel-selection costs are not per-explanation costs
    warm = make_stems(1.0)
    explain(sum(warm.values()), sr=SR, model=model, stems=warm, num_samples=8, show_progress=False)
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    stems = make_stems(seconds)
    mix = np.zeros_like(stems["vocals"])
    for s in stems.values():
        mix += s
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "long.wav"
        sf.write(path, mix[0], SR, subtype="FLOAT")  # exact: the stems still sum to the decoded file
        del mix
        if separator == "oracle":
            kwargs = dict(stems=stems)
        else:
            del stems  # a tf-grid user holds only the file
            kwargs = dict(separator="tf-grid", n_bands=4)
        t0 = time.perf_counter()
        exp = explain(path, model=model, segments=1, num_samples=1000, seed=0, batch_size=16,
                      show_progress=False, **kwargs)
        elapsed = time.perf_counter() - t0
    return {"seconds_audio": seconds, "separator": separator, "explain_s": round(elapsed, 2),
            "components_s": round(exp.timings["components"], 2),
            "model_calls": int(exp.timings["model_calls"]), "n_components": len(exp.components),
            "component_storage_mb": round(exp.components.nbytes / 2**20, 1),
            "baseline_rss_mb": round(baseline, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "warnings": sorted({w.code for w in exp.warnings})}


def run_child(seconds: float, separator: str) -> dict:
    cmd = [sys.executable, __file__, "--child", str(seconds), "--separator", separator]
    out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    if out.returncode != 0:
        raise RuntimeError(f"child failed ({out.returncode}):\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0, help="length of the long clip (default 10)")
    ap.add_argument("--tf-grid", action="store_true", help="also the long clip with tf-grid components")
    ap.add_argument("--child", type=float, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--separator", default="oracle", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child is not None:
        print(json.dumps(child(args.child, args.separator)))
        return 0
    short = run_child(10.0, "oracle")
    long = run_child(args.minutes * 60, "oracle")
    result = {
        "benchmark": "bench_memory", "model": MODEL, "num_samples": 1000, "batch_size": 16,
        "memory_budget_mb": float(os.environ.get("MER_AUDIOLIME_MEMORY_BUDGET_MB") or 768),
        "minutes": args.minutes,
        "peak_rss_mb_10s": short["peak_rss_mb"], "baseline_rss_mb": long["baseline_rss_mb"],
        "cases": {"10s": short, "long": long},
    }
    key = "peak_rss_mb_10min" if args.minutes == 10 else f"peak_rss_mb_{args.minutes:g}min"
    result[key] = long["peak_rss_mb"]
    if args.tf_grid:
        grid = run_child(args.minutes * 60, "tf-grid")
        result[f"{key}_tf_grid"] = grid["peak_rss_mb"]
        result["cases"]["long_tf_grid"] = grid
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
