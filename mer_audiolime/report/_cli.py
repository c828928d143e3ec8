"""``mer-audiolime report``: an HTML summary of an evaluation or benchmark folder, with per-track pages."""

from __future__ import annotations

import argparse
import sys

__all__ = ["register"]

EXAMPLE = """examples:
  mer-audiolime report results/clean                       # writes results/clean/report.html
  mer-audiolime report demo-out --tracks 5 --out demo-report/index.html
  mer-audiolime report results/clean --tracks 0            # summary only; link pages made earlier

Per-track pages re-run `explain` on the tracks with the largest error, with the run's own model, dataset,
suite settings and first seed, and are written to <out stem>_files/<model>/<track>.html. Everything is
embedded (16-bit WAV, PNG): open the file in any browser, offline. For one file:
  mer-audiolime explain song.wav --model my_model.py:build --out out/ --html   # writes out/report.html"""


def register(subparsers) -> None:
    """Add the ``report`` subcommand."""
    p = subparsers.add_parser(
        "report", help="HTML report of an evaluate/benchmark folder with listenable per-track pages",
        description="Write a self-contained HTML summary of a harness output folder (summary table, figures, "
                    "tracks) that links per-track explanation pages with playable mix, stems and top-k "
                    "components.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("folder", metavar="RESULTS_FOLDER",
                   help="folder written by `evaluate --out` or `benchmark --out` (or its <version>/ folder)")
    p.add_argument("--out", default=None, metavar="FILE",
                   help="summary page to write (default: RESULTS_FOLDER/report.html)")
    p.add_argument("--tracks", type=int, default=3, metavar="N",
                   help="per model, tracks that get a re-computed page (largest error first); 0 = only link "
                        "existing pages (default 3)")
    p.add_argument("--top-k", type=int, default=3, help="listenable components per target on track pages "
                                                        "(default 3)")
    p.add_argument("--embed-rate", type=int, default=None, metavar="HZ",
                   help="embed audio at HZ (default: the model's rate, or the highest of 16000/11025/8000 Hz "
                        "that keeps a page within 5 MB)")
    p.add_argument("--regenerate", action="store_true", help="re-compute track pages that already exist")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar over track pages")
    p.set_defaults(func=run)


def run(args) -> int:
    from .run import write_run_report

    report = write_run_report(args.folder, out=args.out, tracks=args.tracks, top_k=args.top_k,
                              embed_sample_rate=args.embed_rate, regenerate=args.regenerate,
                              progress=not args.no_progress)
    print(f"wrote {report.path}: {len(report.track_pages)} track page(s) linked ({len(report.computed)} computed, "
          f"{len(report.reused)} found already)")
    if report.failures:
        for key, message in report.failures.items():
            print(f"mer-audiolime: error: track page {key}: {message}", file=sys.stderr)
        print(f"mer-audiolime: error: {len(report.failures)} track page(s) failed; the summary was written "
              "and lists them.", file=sys.stderr)
        return 1
    return 0
