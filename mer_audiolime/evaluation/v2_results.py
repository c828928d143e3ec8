"""Scoring the synthetic-v2 benchmark: the finished units of a run into its tables and manifest.

:func:`write_results` reads ``<out>/runs`` (written by :mod:`~mer_audiolime.evaluation.v2_run`), scores the
units with :mod:`~mer_audiolime.evaluation.v2_report` and writes the tables, ``summary.md`` and
``manifest.json``; :func:`run_phases` turns the run's log into the phases of work its wall time is summed
over.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

import pandas as pd

from ..explain.separators import separator_card
from ..models.zoo import model_card
from .results import git_commit, package_versions
from .suites import load_suite, suite_file_sha256
from .truths import exclusions
from .v2_analysis import analysis_table, subgroup_predictions
from .v2_report import KEYS, clip_verdicts, metrics_table, read_units, seed_table, summary_markdown
from .v2_units import BENCHMARK_V2, ESTIMATED_SEPARATOR, expected_explanations, plan_units, unit_name

__all__ = ["PHASE_GAP_SECONDS", "run_phases", "write_results"]


#: Units that start more than this many seconds after every earlier unit ended begin a new run phase (e.g.
#: the units of models added by an amendment, run later): wall time is summed over phases, not spanned.
PHASE_GAP_SECONDS = 600.0


def _stamp(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))


def run_phases(entries: list) -> list:
    """Group ``units.jsonl`` entries into phases of work: a phase ends when no unit runs for
    :data:`PHASE_GAP_SECONDS`.

    Parameters
    ----------
    entries : list of dict
        ``{"unit", "start", "end", "seconds", "pid", "commit"}`` per finished unit.

    Returns
    -------
    list of dict
        ``{"started", "ended", "wall_seconds", "units", "commits"}`` in time order.

    Examples
    --------
    >>> e = [{"unit": "a", "start": 0, "end": 10, "commit": "x"}, {"unit": "b", "start": 5, "end": 30,
    ...       "commit": "x"}, {"unit": "c", "start": 5000, "end": 5060, "commit": "y"}]
    >>> [(p["wall_seconds"], p["units"]) for p in run_phases(e)]
    [(30.0, 2), (60.0, 1)]
    """
    phases: list = []
    for e in sorted(entries, key=lambda x: x["start"]):
        if phases and e["start"] <= phases[-1]["end"] + PHASE_GAP_SECONDS:
            last = phases[-1]
            last["end"] = max(last["end"], e["end"])
            last["units"] += 1
            last["commits"].add(str(e.get("commit")))
        else:
            phases.append({"start": e["start"], "end": e["end"], "units": 1,
                           "commits": {str(e.get("commit"))}})
    return [{"started": _stamp(p["start"]), "ended": _stamp(p["end"]),
             "wall_seconds": float(p["end"] - p["start"]), "units": p["units"],
             "commits": sorted(p["commits"])} for p in phases]


def _wall(runs: Path) -> dict:
    log = runs / "units.jsonl"
    if not log.is_file():
        return {"wall_seconds": float("nan"), "unit_seconds": float("nan")}
    entries = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]
    phases = run_phases(entries)
    return {"run_commits": sorted({str(e.get("commit")) for e in entries}),
            "wall_seconds": sum(p["wall_seconds"] for p in phases), "phases": phases,
            "unit_seconds": sum(e["seconds"] for e in entries), "processes": len({e["pid"] for e in entries}),
            "started": _stamp(min(e["start"] for e in entries)),
            "ended": _stamp(max(e["end"] for e in entries))}


def write_results(out_dir, *, data_home, suite="synthetic_v2", predictions: bool = True,
                  machine_note: str = "") -> dict:
    """Score the finished units of ``<out_dir>/runs`` and write the benchmark's tables and manifest.

    Writes ``per_clip.csv`` (one verdict per task, model, clip, source, explainer and ranking),
    ``metrics.csv``, ``seeds.csv``, ``excluded.csv``, ``predictions.csv`` and ``analysis.csv`` (the
    SMC-2021 bias analysis), ``summary.md`` and ``manifest.json``. The status is ``complete`` only when every
    planned explanation is there and no unit failed; otherwise ``partial``, with the missing units named.

    Returns
    -------
    dict
        The manifest.
    """

    name = suite if isinstance(suite, str) else suite["name"]
    suite = load_suite(suite) if isinstance(suite, str) else suite
    out = Path(out_dir)
    runs = out / "runs"
    commit = git_commit()
    units = plan_units(suite, data_home)
    expected = expected_explanations(units)
    attrs, costs, failures = read_units(runs)
    names = list(suite["models"]["names"])
    excl = exclusions(names)
    verdicts = clip_verdicts(attrs, suite=suite, exclusions=excl)
    metrics = metrics_table(verdicts, costs, suite=suite, expected=expected)
    seeds = seed_table(attrs, suite=suite, exclusions=excl)
    scored_pairs = expected[["task", "role", "model", "track_id"]].drop_duplicates()
    excluded = excl.merge(scored_pairs, on=["model", "track_id"])
    excluded = excluded[~excluded["passed"].astype(bool)]
    shortcut_models = [m for m in names if "_biased_" in m or "_clean_s" in m]
    pred_path = out / "predictions.csv"
    if predictions or not pred_path.is_file():
        preds = subgroup_predictions(shortcut_models, data_home=data_home)
        preds.to_csv(pred_path, index=False, float_format="%.8g")
    preds = pd.read_csv(pred_path, dtype={"track_id": str})
    analysis = analysis_table(preds, attrs, exclusions=excl)
    done = {f"{u}" for u in (p.name[:-4] for p in runs.glob("*.csv") if not p.name.endswith("_cost.csv"))}
    missing_units = [unit_name(u["model"], u["source"]) for u in units
                     if unit_name(u["model"], u["source"]) not in done]
    status = "complete" if not missing_units and not failures else "partial"
    wall = _wall(runs)
    sep = separator_card(ESTIMATED_SEPARATOR)
    manifest = {
        "benchmark": BENCHMARK_V2, "suite": f"{name}.toml", "suite_sha256": suite_file_sha256(name),
        "preset": suite.get("preset", "full"), "status": status,
        "status_note": "" if status == "complete" else (
            f"{len(missing_units)} of {len(units)} units missing ({missing_units}); failed: {failures}. "
            "Rates cover the finished units only."),
        "git_commit": commit, "package_versions": package_versions(), **wall,
        "machine": {"platform": platform.platform(), "python": sys.version.split()[0], "cpus": os.cpu_count(),
                    "load_average_at_report": list(os.getloadavg()), "note": machine_note},
        "data": {"generate": dict(suite["data"]["generate"]), "split": suite["tracks"]["split"]},
        "separator": {"name": ESTIMATED_SEPARATOR, "files": {k: v["sha256"] for k, v in sep["files"].items()},
                      "test_sdr_median": {s: v["sdr"]["median"] for s, v in sep["test"]["per_stem"].items()}},
        "models": {m: model_card(m).weights["sha256"] for m in names},
        "explain": {k: v for k, v in suite["explain"].items()},
        "counts": {"units": len(units), "units_done": len(units) - len(missing_units), "failed": failures,
                   "explanations": int(len(attrs[KEYS].drop_duplicates())) if len(attrs) else 0,
                   "planned_explanations": int(len(expected))},
        "files": ["runs/<model>__<source>.csv (tidy attributions)", "runs/<model>__<source>_cost.csv",
                  "per_clip.csv", "metrics.csv", "seeds.csv", "excluded.csv", "predictions.csv",
                  "analysis.csv", "summary.md"],
    }
    verdicts.to_csv(out / "per_clip.csv", index=False, float_format="%.8g")
    metrics.to_csv(out / "metrics.csv", index=False, float_format="%.8g")
    seeds.to_csv(out / "seeds.csv", index=False)
    excluded.to_csv(out / "excluded.csv", index=False, float_format="%.6g")
    analysis.to_csv(out / "analysis.csv", index=False, float_format="%.8g")
    summary = summary_markdown(metrics, manifest=manifest, analysis=analysis, seeds=seeds)
    (out / "summary.md").write_text(summary, encoding="utf-8")
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n", encoding="utf-8")
    return manifest
