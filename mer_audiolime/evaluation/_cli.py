"""``mer-audiolime evaluate`` and ``mer-audiolime benchmark``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

_FMT = argparse.RawDescriptionHelpFormatter


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "evaluate", help="run an evaluation suite on a model over a dataset (resumable, parallel)",
        description="Explain every track of a dataset split with one model and measure fidelity, stability, "
                    "the mid-level chain and errors. Per-track results are written as they finish, each "
                    "with a checksum; rerunning with the same --out resumes without recomputing finished "
                    "tracks (damaged ones are recomputed and named). The output folder, suite, model, "
                    "tracks and scheduler are checked before any track is explained. A folder holding "
                    "finished tracks of other settings is refused; one whose earlier run finished no track "
                    "is taken over.",
        epilog="examples:\n"
               "  mer-audiolime evaluate --model a2mid2e_synth_clean --dataset synthetic --data-home synth/ \\\n"
               "      --suite standard --out results/clean\n"
               "  mer-audiolime evaluate --model mypkg.models:factory --dataset synthetic --data-home synth/ \\\n"
               "      --suite my_suite.toml --jobs 2 --out results/mine\n"
               "  mer-audiolime evaluate --model my_model.py:build --dataset synthetic --data-home synth/ \\\n"
               "      --dask-scheduler tcp://127.0.0.1:8786 --out results/dask",
        formatter_class=_FMT)
    p.add_argument("--model", required=True,
                   help="a zoo model name (mer-audiolime models list), a checkpoint .pt written by `train` "
                        "(its digest is verified and its sha256 recorded), or 'package.module:factory' / "
                        "'path/to/file.py:factory' (the forms `explain` takes)")
    p.add_argument("--dataset", required=True, help="dataset name (mer-audiolime datasets list)")
    p.add_argument("--data-home", default=None, help="the dataset's folder")
    p.add_argument("--variant", "--version", dest="version", default="default", metavar="VARIANT",
                   help="dataset variant / index version, e.g. clean or biased (default: 'default')")
    p.add_argument("--suite", default="standard",
                   help="a shipped suite name (standard, quick, segments) or a .toml path")
    p.add_argument("--out", required=True, help="results folder (rerun into it to resume)")
    p.add_argument("--jobs", type=int, default=1, help="worker processes (joblib); default 1")
    p.add_argument("--dask-scheduler", default=None, metavar="ADDRESS",
                   help="run the tracks on a dask.distributed scheduler, e.g. tcp://127.0.0.1:8786")
    p.add_argument("--name", default=None,
                   help="model name used in the result rows (default: the zoo name, the checkpoint card's "
                        "name, or <file>:<factory>)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=run_evaluate)

    b = subparsers.add_parser(
        "benchmark", help="run the synthetic benchmark with the shipped zoo models (offline)",
        description="Generate the synthetic multitrack benchmark (if needed), evaluate the shipped zoo models on "
                    "its test split with the standard suite, score planted-bias detection, and write tables, "
                    "figures and a manifest.",
        epilog="examples:\n"
               "  mer-audiolime benchmark --preset quick --out demo-out\n"
               "  mer-audiolime benchmark --preset full --jobs 2 --out evaluation/results\n"
               "  mer-audiolime benchmark --rebuild-tables evaluation/results/synthetic-v1",
        formatter_class=_FMT)
    b.add_argument("--preset", choices=("quick", "full"), default="quick",
                   help="quick: 12 test clips per model (minutes); full: every test clip")
    where = b.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", help="output folder (a <benchmark-version>/ folder is created in it)")
    where.add_argument("--rebuild-tables", metavar="FOLDER",
                       help="rewrite the tables and figures of a finished <benchmark-version>/ folder "
                            "from its rows with the current table code (nothing is re-run)")
    b.add_argument("--data-home", default=None,
                   help="where the synthetic set is (generated there if missing); default: the user cache")
    b.add_argument("--jobs", type=int, default=1, help="worker processes (joblib); default 1")
    b.add_argument("--limit", type=int, default=None, metavar="N",
                   help="at most N test clips per model (a smoke run: its numbers are not the benchmark's)")
    b.add_argument("--no-progress", action="store_true", help="hide progress bars")
    b.set_defaults(func=run_benchmark)


def run_evaluate(args) -> int:
    from .runner import evaluate

    run = evaluate(args.model, dataset=args.dataset, suite=args.suite, out_dir=args.out, data_home=args.data_home,
                   version=args.version, jobs=args.jobs, dask_scheduler=args.dask_scheduler, model_name=args.name,
                   progress=not args.no_progress)
    print(f"{run.rows['track_id'].nunique() if len(run.rows) else 0} tracks "
          f"({len(run.computed)} computed, {len(run.reused)} resumed), {len(run.failures)} failed -> {run.out_dir}")
    for r in run.repaired:
        print(f"mer-audiolime: warning: recomputed {r['track_id']}: {r['reason']} (kept as "
              f"{r['file']}.damaged)",
              file=sys.stderr)
    for f in run.failures:
        print(f"  failed {f['track_id']}: {f['error']}: {f['message']}")
    counts = run.warning_counts()
    if counts:
        listed = ", ".join(f"{code} ({n} track(s))" for code, n in sorted(counts.items()))
        print(f"trust warnings: {listed}; see summary.md and the report")
    return 0


def run_benchmark(args) -> int:
    from .benchmark import rebuild_benchmark
    from .benchmark import run_benchmark as bench

    if args.rebuild_tables:
        written = rebuild_benchmark(args.rebuild_tables)
        print(f"rebuilt {len(written)} files in {args.rebuild_tables}")
        return 0
    out = bench(preset=args.preset, out_dir=args.out, data_home=args.data_home, jobs=args.jobs,
                progress=not args.no_progress, limit=args.limit)
    print((out / "summary.md").read_text())
    print(f"wrote {out}")
    quick = Path(args.out) / "synthetic-v2-quick"
    if args.preset == "quick" and (quick / "summary.md").is_file():
        text = (quick / "summary.md").read_text()
        print(text.split("## Leave-one-out")[0].rstrip())  # the headline tables; the rest is in the file
        print(f"wrote {quick}")
    return 0
