"""Running the synthetic-v2 benchmark: explain each unit's model on its clips and write the unit's files.

Each (model, source) unit (:func:`~mer_audiolime.evaluation.v2_units.plan_units`) is written to
``<out>/runs/<model>__<source>.csv`` (tidy attributions) and ``..._cost.csv``. A rerun skips finished units
whose key still matches (a unit computed under other settings is moved to ``<out>/runs/stale/`` and run
again), skips a unit another process has claimed, and records a failure in ``<out>/runs/<unit>.failed.txt``
instead of stopping.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from pathlib import Path

import numpy as np
import pandas as pd

from ..datasets import synthetic as syn
from ..exceptions import DatasetError, ParameterError
from ..explain.components import RESIDUAL, build_components
from ..explain.separation import get_separator
from ..explain.separation_cache import default_cache_dir
from ..models import ship, zoo
from ..validation import check_writable_dir
from .results import git_commit
from .suites import load_suite
from .v2_explainers import attribute_clip, explain_settings
from .v2_units import ESTIMATED_SEPARATOR, plan_units, unit_key, unit_name

__all__ = ["run_unit", "run_benchmark_v2"]


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
