"""The synthetic-v2 benchmark run: every pre-registered explainer x task x model x scored clip x stem source.

Reads a pre-registration suite (``synthetic_v2``), and for each registered model and stem source (oracle: the
generated stems; estimated: the shipped ``umx-synth`` open-unmix separator through
:class:`~mer_audiolime.explain.separation.OpenUnmixSeparator`, residual as an extra component) explains the
model's valence on every scored test clip of each task the model belongs to
(:func:`~mer_audiolime.evaluation.v2_explainers.attribute_clip`). Each (model, source) is one unit written to
``<out>/runs/<model>__<source>.csv`` (tidy attributions) and ``..._cost.csv``. A rerun skips finished units
whose key still matches (:func:`unit_key`: the unit's plan, the suite settings it reads, the data settings,
the model's weights and the package version; a unit computed under other settings is moved to
``<out>/runs/stale/`` and run again), skips a unit another process has claimed, and records a failure in
``<out>/runs/<unit>.failed.txt`` instead of stopping.
:func:`~mer_audiolime.evaluation.v2_results.write_results` turns the units into the tables.

The parts live in sibling modules and are re-exported here: planning the units and their keys
(:mod:`~mer_audiolime.evaluation.v2_units`), running them (:mod:`~mer_audiolime.evaluation.v2_run`) and
scoring them into the tables (:mod:`~mer_audiolime.evaluation.v2_results`). This module holds the quick
preset and the command line.

Examples
--------
>>> run_benchmark_v2("evaluation/results/synthetic-v2", data_home="synth-v2")   # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

from ..validation import check_int
from .suites import load_suite
from .truths import task_models
from .v2_results import PHASE_GAP_SECONDS, run_phases, write_results
from .v2_run import run_benchmark_v2, run_unit
from .v2_units import (BENCHMARK_V2, ESTIMATED_SEPARATOR, expected_explanations, plan_units, unit_cost,
                       unit_key, unit_name)

__all__ = ["BENCHMARK_V2", "plan_units", "unit_cost", "unit_key", "run_phases", "PHASE_GAP_SECONDS",
           "run_unit", "run_benchmark_v2", "unit_name",
           "ESTIMATED_SEPARATOR", "expected_explanations", "write_results", "main", "QUICK_TASKS",
           "QUICK_SEED", "QUICK_CLIPS", "quick_suite", "run_quick"]


#: The quick preset (part of ``mer-audiolime benchmark --preset quick``, the demo): the pre-registered suite
#: restricted to the seed-0 models of these tasks and to the first ``QUICK_CLIPS`` scored test clips of each,
#: with both stem sources. Fixed before it was first run; its numbers show the pipeline end to end on a
#: handful of clips and are not the benchmark's (those are the full run's, in evaluation/results/synthetic-v2).
QUICK_TASKS = ("shortcut", "confounded")
QUICK_SEED = 0
QUICK_CLIPS = 4


def quick_suite(suite="synthetic_v2", *, clips: int = QUICK_CLIPS) -> dict:
    """The quick preset of a pre-registration: :data:`QUICK_TASKS`, seed :data:`QUICK_SEED`, ``clips`` clips.

    Returns
    -------
    dict
        A copy of the suite with ``tasks``, ``models.names`` and ``tracks.limit`` restricted and
        ``preset = "quick"`` (recorded in the manifest and shown on the summary page).

    Examples
    --------
    >>> quick_suite()["models"]["names"][:2]
    ['a2mid2e_synth_v2_clean_s0', 'a2e_synth_v2_clean_s0']
    """
    suite = copy.deepcopy(load_suite(suite) if isinstance(suite, str) else suite)
    suite["tasks"] = {t: suite["tasks"][t] for t in QUICK_TASKS}
    wanted = {n for t in QUICK_TASKS for names in task_models(suite, t).values() for n in names}
    suite["models"]["names"] = [n for n in suite["models"]["names"]
                                if n in wanted and n.endswith(f"_s{QUICK_SEED}")]
    suite["tracks"]["limit"] = check_int(clips, "clips", minimum=1)
    suite["preset"] = "quick"
    return suite



def run_quick(out_dir, *, data_home, clips: int = QUICK_CLIPS, progress: bool = True) -> Path:
    """Run and score the quick preset (:func:`quick_suite`) into ``<out_dir>/synthetic-v2-quick``.

    Parameters
    ----------
    out_dir : path
        Parent folder (the demo's ``demo-out``).
    data_home : path
        A generated synthetic-v2 set (``generate(..., **V2_GENERATE)``).
    clips : int
        Scored test clips per task (a smaller number makes a smoke run).
    progress : bool
        tqdm bars and a line per finished unit.

    Returns
    -------
    pathlib.Path
        The results folder (``summary.md``, ``metrics.csv``, ``per_clip.csv``, ``manifest.json``, ``runs/``).
    """
    suite = quick_suite(clips=clips)
    out = Path(out_dir) / f"{BENCHMARK_V2}-quick"
    report = run_benchmark_v2(out, data_home=data_home, suite=suite, progress=progress)
    write_results(out, data_home=data_home, suite=suite,
                  machine_note=f"quick preset; this run: {report['wall_seconds']:.0f} s")
    return out


def main(argv=None) -> int:
    """``python -m mer_audiolime.evaluation.benchmark_v2 {run,report} --out DIR --data-home DIR``."""

    parser = argparse.ArgumentParser(prog="python -m mer_audiolime.evaluation.benchmark_v2",
                                     description="Run or score the pre-registered synthetic-v2 benchmark.")
    parser.add_argument("command", choices=["run", "report"])
    parser.add_argument("--out", required=True, help="results folder, e.g. evaluation/results/synthetic-v2")
    parser.add_argument("--data-home", required=True, help="the generated synthetic-v2 set")
    parser.add_argument("--sources", nargs="*", default=None, help="oracle and/or estimated (default both)")
    parser.add_argument("--models", nargs="*", default=None)
    parser.add_argument("--note", default="", help="machine/load note for the manifest (report)")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "run":
        t = time.perf_counter()
        report = run_benchmark_v2(args.out, data_home=args.data_home, models=args.models,
                                  sources=args.sources, progress=not args.no_progress)
        print(json.dumps({k: v for k, v in report.items()}, default=str))
        print(f"wall time: {time.perf_counter() - t:.1f} s", flush=True)
        return 1 if report["failed"] else 0
    manifest = write_results(args.out, data_home=args.data_home, machine_note=args.note)
    keys = ("status", "status_note", "wall_seconds", "counts")
    print(json.dumps({k: manifest[k] for k in keys}, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
