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
:func:`~mer_audiolime.evaluation.v2_report.write_report` turns the units into the tables.

Examples
--------
>>> run_benchmark_v2("evaluation/results/synthetic-v2", data_home="synth-v2")   # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path

import numpy as np
import pandas as pd

from .._version import __version__
from ..datasets import synthetic as syn
from ..exceptions import DatasetError, ParameterError
from ..explain.components import RESIDUAL, build_components
from ..explain.separation import get_separator
from ..explain.separation_cache import default_cache_dir
from ..explain.separators import separator_card
from ..models import ship, zoo
from ..models.zoo import model_card
from ..validation import check_int, check_writable_dir
from .results import git_commit, package_versions
from .suites import load_suite, suite_file_sha256
from .truths import exclusions, scored_track_ids, task_models
from .v2_analysis import analysis_table, subgroup_predictions
from .v2_explainers import attribute_clip, explain_settings
from .v2_report import KEYS, clip_verdicts, metrics_table, read_units, seed_table, summary_markdown

__all__ = ["BENCHMARK_V2", "plan_units", "unit_cost", "unit_key", "run_phases", "PHASE_GAP_SECONDS",
           "run_unit", "run_benchmark_v2", "unit_name",
           "ESTIMATED_SEPARATOR", "expected_explanations", "write_results", "main", "QUICK_TASKS",
           "QUICK_SEED", "QUICK_CLIPS", "quick_suite", "run_quick"]

#: Version name of the benchmark the results are filed and cited under.
BENCHMARK_V2 = "synthetic-v2"
#: The shipped separator that gives the estimated stems.
ESTIMATED_SEPARATOR = "umx-synth"


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


def unit_name(model: str, source: str) -> str:
    """``<model>__<source>``: the file stem of one unit's outputs."""
    return f"{model}__{source}"


def plan_units(suite: dict, data_home) -> list:
    """Every (model, source) unit and the work inside it.

    Returns
    -------
    list of dict
        ``{"model", "source", "jobs": [{"task", "head", "role", "variant", "segments", "track_ids"}]}``
        most expensive first (:func:`unit_cost`; ties in suite order, sources outer).
    """

    jobs = {}
    for task, spec in suite["tasks"].items():
        ds = syn.Dataset(data_home=str(data_home), version=spec["variant"])
        tids = scored_track_ids(ds, suite, task)
        if int(suite["tracks"].get("limit", 0) or 0) > 0:
            tids = tids[: int(suite["tracks"]["limit"])]
        for role, names in task_models(suite, task).items():
            for name in names:
                head = name.split("_synth_v2_")[0]
                jobs.setdefault(name, []).append({"task": task, "head": head, "role": role,
                                                  "variant": spec["variant"],
                                                  "segments": int(spec["segments"]), "track_ids": tids})
    units = []
    for source in suite["stems"]["sources"]:
        for name in suite["models"]["names"]:
            if name in jobs:
                units.append({"model": name, "source": source, "jobs": jobs[name]})
    return sorted(units, key=lambda u: -unit_cost(u))


def unit_cost(unit: dict) -> int:
    """Model calls a unit needs at most: ``2**K`` per distinct clip and segmentation (K = stems x segments,
    one stem more for the residual of estimated stems). Units are run most expensive first."""
    per_stem = 6 if unit["source"] == "estimated" else 5
    clips = {(job["segments"], tid) for job in unit["jobs"] for tid in job["track_ids"]}
    return sum(2 ** (per_stem * seg) for seg, _ in clips)


def _clip_components(track, *, source: str, segments: int, separator):
    """Components of a clip: oracle stems or the separator's (residual added when they miss the mix)."""

    mix, sr = track.audio
    sr = int(round(float(sr)))  # the loader returns the rate as a float
    mix = np.asarray(mix, dtype=np.float32).reshape(1, -1)
    if source == "oracle":
        stems = {k: np.asarray(v, dtype=np.float32).reshape(1, -1) for k, v in track.stems.items()}
    else:
        stems = {k: np.asarray(v, dtype=np.float32).reshape(1, -1)
                 for k, v in separator.separate(mix, sr=sr).items()}
    return build_components(mix, stems, sr=sr, segments=segments, residual=True)


def run_unit(unit: dict, *, data_home, suite: dict, separator=None, progress: bool = False) -> tuple:
    """Explain one model on every clip of its unit; returns ``(attributions, costs)`` frames.

    Clips shared by several tasks at the same segmentation are explained once and their rows repeated per
    task. ``separator`` is required for the ``estimated`` source.
    """
    from tqdm.auto import tqdm


    settings = explain_settings(suite)
    stem = suite["bias"]["shortcut_stem"]
    model = zoo.load_model(unit["model"], download=False)
    valence = ship.valence_predict(model)
    if unit["source"] not in ("oracle", "estimated"):
        raise ParameterError(f"unknown stem source {unit['source']!r}; use 'oracle' or 'estimated'.")
    if unit["source"] == "estimated" and separator is None:
        raise ParameterError("the estimated source needs a separator.")
    done, attrs, costs, datasets = {}, [], [], {}
    todo = [(job, tid) for job in unit["jobs"] for tid in job["track_ids"]]
    for job, tid in tqdm(todo, desc=unit_name(unit["model"], unit["source"]), disable=not progress):
        audio = syn.task(job["variant"]).audio
        key = (audio, tid, job["segments"])
        if key not in done:
            if job["variant"] not in datasets:
                datasets[job["variant"]] = syn.Dataset(data_home=str(data_home), version=job["variant"])
            track = datasets[job["variant"]].track(tid)
            comps = _clip_components(track, source=unit["source"], segments=job["segments"],
                                     separator=separator)

            def predict(masks, comps=comps):
                return np.asarray(valence(comps.compose(masks)), dtype=np.float64)[:, None]

            stems_only = np.array([s != RESIDUAL for s in comps.stems], dtype=np.uint8)
            rows, cost = attribute_clip(predict, component_names=comps.names, model=unit["model"],
                                        track_id=tid, settings=settings, shortcut_stem=stem,
                                        extra_masks={"stems_only": stems_only},
                                        component_groups=comps.segments)
            done[key] = (rows, cost)
        rows, cost = done[key]
        label = {"task": job["task"], "head": job["head"], "role": job["role"], "model": unit["model"],
                 "track_id": tid, "source": unit["source"]}
        attrs.append(rows.assign(**label))
        costs.append(cost.assign(**label))
    lead = ["task", "head", "role", "model", "track_id", "source"]
    a = pd.concat(attrs, ignore_index=True)
    c = pd.concat(costs, ignore_index=True)
    a = a[lead + [x for x in a.columns if x not in lead]]
    return a, c[lead + [x for x in c.columns if x not in lead]]


def unit_key(unit: dict, suite: dict, data_home) -> str:
    """The sha256 of everything a unit's numbers depend on, so a rerun never reuses a unit computed otherwise.

    Parameters
    ----------
    unit : dict
        From :func:`plan_units` (model, source, jobs with tasks, segments and track ids).
    suite : dict
        The loaded suite: its ``explain``, ``explainers``, ``bias``, ``stems`` sections and the unit's tasks
        (without their ``heads`` and ``description``, which say which models take part and how the task
        reads, not how a unit is computed: adding a model to a task leaves the other units' keys alone).
    data_home : path
        The synthetic-v2 set (its ``settings.json``).

    Returns
    -------
    str
        Hex digest; also covers the model's weights (sha256 from its card) and the package version.

    Examples
    --------
    >>> unit_key(unit, suite, "synth-v2")[:12]   # doctest: +SKIP
    '3f1c0d9a2b7e'
    """
    tasks = sorted({job["task"] for job in unit["jobs"]})
    try:
        weights = (model_card(unit["model"]).weights or {}).get("sha256")
    except Exception:  # noqa: BLE001 -- a model outside the zoo: its unit fails when it runs, not here
        weights = None
    settings = Path(data_home) / "settings.json"
    task_settings = {t: {k: v for k, v in suite["tasks"][t].items() if k not in ("heads", "description")}
                     for t in tasks}
    basis = {"unit": unit, "tasks": task_settings,
             **{k: suite.get(k) for k in ("explain", "explainers", "bias", "stems")},
             "data": json.loads(settings.read_text(encoding="utf-8")) if settings.is_file() else None,
             "weights": weights, "package": __version__}
    text = json.dumps(basis, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _stale(runs: Path, name: str, key: str) -> bool:
    """Whether a finished unit was computed under another key; if so its files move to ``runs/stale/``."""
    stored = runs / f"{name}.key"
    if stored.is_file() and stored.read_text(encoding="utf-8").strip() == key:
        return False
    dest = runs / "stale" / time.strftime("%Y%m%d-%H%M%S")
    dest.mkdir(parents=True, exist_ok=True)
    for path in (runs / f"{name}.csv", runs / f"{name}_cost.csv", stored):
        if path.is_file():
            os.replace(path, dest / path.name)
    print(f"{name}: finished under other settings (or before unit keys were recorded); moved to {dest} and "
          "run again", file=sys.stderr, flush=True)
    return True


def _claim(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return False
    os.write(fd, f"{os.getpid()} {time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode())
    os.close(fd)
    return True


def run_benchmark_v2(out_dir, *, data_home, suite="synthetic_v2", models=None, sources=None,
                     progress: bool = True) -> dict:
    """Run (or resume) every unit of the suite into ``<out_dir>/runs``.

    Parameters
    ----------
    out_dir : path
        Results folder (``evaluation/results/synthetic-v2``).
    data_home : path
        The generated synthetic-v2 set (``generate(..., cues=True)`` with the suite's ``[data]`` settings).
    suite : str or dict
        Suite name or loaded suite.
    models, sources : sequence of str, optional
        Restrict the units (default: all).
    progress : bool
        tqdm bars.

    Returns
    -------
    dict
        ``{"done": [...], "skipped": [...], "failed": [...], "wall_seconds": float}``. Several processes may
        run this on the same folder at once: each unit is claimed with a lock file.
    """

    suite = load_suite(suite) if not isinstance(suite, dict) else suite
    out = check_writable_dir(Path(out_dir), "out_dir")
    runs = out / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    home = Path(data_home)
    if not (home / "cues.json").is_file():
        raise DatasetError(f"{home} holds no synthetic-v2 set (no cues.json); generate it with the suite's "
                           "[data] settings (mer_audiolime.datasets.synthetic.generate(..., cues=True)).")
    units = plan_units(suite, home)
    if models is not None:
        units = [u for u in units if u["model"] in set(models)]
    if sources is not None:
        units = [u for u in units if u["source"] in set(sources)]

    commit = git_commit()  # the code that computed the units (recorded with each of them)
    separator = None
    report = {"done": [], "skipped": [], "failed": []}
    t0 = time.perf_counter()
    for unit in units:
        name = unit_name(unit["model"], unit["source"])
        target = runs / f"{name}.csv"
        key = unit_key(unit, suite, home)
        if (target.is_file() and not _stale(runs, name, key)) or not _claim(runs / f"{name}.lock"):
            report["skipped"].append(name)
            continue
        try:
            if unit["source"] == "estimated" and separator is None:
                separator = get_separator(ESTIMATED_SEPARATOR, cache_dir=default_cache_dir() / "separation",
                                          show_progress=False)
            t, start_wall = time.perf_counter(), time.time()
            attrs, costs = run_unit(unit, data_home=home, suite=suite, separator=separator, progress=progress)
            costs.to_csv(runs / f"{name}_cost.csv", index=False, float_format="%.6g")
            attrs.to_csv(runs / f"{name}.csv.part", index=False, float_format="%.8g")
            (runs / f"{name}.key").write_text(key + "\n", encoding="utf-8")
            os.replace(runs / f"{name}.csv.part", target)  # the attribution file marks the unit finished
            with open(runs / "units.jsonl", "a", encoding="utf-8") as log:
                log.write(json.dumps({"unit": name, "pid": os.getpid(), "start": start_wall,
                                      "end": time.time(), "seconds": time.perf_counter() - t,
                                      "commit": commit}) + "\n")
            (runs / f"{name}.failed.txt").unlink(missing_ok=True)
            report["done"].append(name)
            if progress:
                print(f"{name}: {time.perf_counter() - t:.1f} s", flush=True)
        except Exception:  # noqa: BLE001 -- a failed unit is recorded and the run goes on
            trace = traceback.format_exc()
            (runs / f"{name}.failed.txt").write_text(trace, encoding="utf-8")
            with open(runs / "failures.jsonl", "a", encoding="utf-8") as log:  # kept after a later success
                log.write(json.dumps({"unit": name, "pid": os.getpid(), "time": time.time(),
                                      "traceback": trace}) + "\n")
            report["failed"].append(name)
        finally:
            (runs / f"{name}.lock").unlink(missing_ok=True)
    report["wall_seconds"] = time.perf_counter() - t0
    return report


def expected_explanations(units: list) -> pd.DataFrame:
    """Every (task, head, role, model, track_id, source) the plan calls for (to count missing ones)."""
    rows = [{"task": j["task"], "head": j["head"], "role": j["role"], "model": u["model"], "track_id": t,
             "source": u["source"]} for u in units for j in u["jobs"] for t in j["track_ids"]]
    return pd.DataFrame(rows)


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
