"""The harness runner: every track of a dataset through one model and one suite, resumable and parallel.

Each track is an independent task that writes its tidy rows atomically to ``<out>/tracks/<track_id>.csv``
as soon as it finishes (a failure writes ``<out>/failures/<track_id>.json`` with the reason, and the run goes
on). A killed run resumes where it stopped: finished tracks are read back, never recomputed. Tasks run in
this process (``jobs=1``), in joblib worker processes (``jobs=N``), or on a dask.distributed cluster
(``dask_scheduler="tcp://host:port"``). Rows depend only on the track, the model, the suite and the seeds,
so the result does not depend on order, parallelism or interruptions.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from ..exceptions import DatasetError, EvaluationError, MerAudioLimeError, ParameterError
from .suites import load_suite, suite_hash

__all__ = ["ROW_COLUMNS", "EvaluationRun", "evaluate", "resolve_model", "resolved_model", "evaluate_track",
           "load_tracks"]

#: Columns of the tidy per-example rows (one measured number each). ``source`` names the attribution a row
#: measures (``"lime"``, ``"chain:lime"`` ...; see :meth:`~mer_audiolime.explain.Explanation.attribution`),
#: empty for rows about the model alone (predictions, errors, reconstruction gap, model calls).
ROW_COLUMNS = ["track_id", "model", "target", "metric", "value", "component", "step", "seed", "num_samples",
               "k_components", "suite", "version", "source"]


@lru_cache(maxsize=8)
def resolved_model(spec: str):
    """The :class:`~mer_audiolime.models.spec.ResolvedModel` of any model spec (zoo name, checkpoint,
    ``module:factory``, ``file.py:factory``), built once per process."""
    from ..models.spec import resolve_model as resolve

    return resolve(spec)


def resolve_model(spec: str):
    """The predictor of any model spec (see :func:`resolved_model`), cached per process."""
    return resolved_model(spec).predictor


@lru_cache(maxsize=8)
def _dataset(name: str, data_home: str | None, version: str):
    from ..datasets import load

    return load(name, data_home=data_home, version=version)


def load_tracks(name: str, *, data_home=None, version: str = "default", split: str = "test", limit: int = 0):
    """Track ids of ``split`` (``"all"`` for every track), sorted, at most ``limit`` (0 = all)."""
    ds = _dataset(name, None if data_home is None else str(data_home), version)
    ids = sorted(ds.track_ids)
    if split != "all":
        chosen = []
        for tid in ids:
            track_split = getattr(ds.track(tid), "split", None)
            if track_split is None:
                raise DatasetError(
                    f"tracks of {name!r} carry no split; use tracks.split = \"all\" in the suite or pick a dataset "
                    "with splits."
                )
            if track_split == split:
                chosen.append(tid)
        ids = chosen
    if not ids:
        raise DatasetError(f"no tracks in split {split!r} of {name!r} (data_home={data_home}).")
    return ids[:limit] if limit else ids


def _rows(track_id, model_name, suite, *, k, n_used):
    base = {"track_id": track_id, "model": model_name, "suite": suite["name"], "version": suite["version"],
            "k_components": k, "num_samples": n_used}

    def row(target, metric, value, *, component="", step=-1, seed=-1, source="", k=None, n=None):
        value = float(value)
        if not np.isfinite(value):
            raise EvaluationError(f"{metric} of {target!r} on {track_id} is not finite ({value}).")
        out = {**base, "target": target, "metric": metric, "value": value, "component": component,
               "step": int(step), "seed": int(seed), "source": source}
        if k is not None:
            out["k_components"] = int(k)
        if n is not None:
            out["num_samples"] = int(n)
        return out

    return row


def evaluate_track(track_id: str, *, model_spec: str, dataset: tuple, suite: dict, model_name: str) -> pd.DataFrame:
    """All rows of one track: predictions, truth, attributions, fidelity, stability, convergence, chain.

    The suite's explanation setting is explained with its first seed (and its other seeds too when the masks
    depend on the seed). Seed stability and convergence are measured on ``suite["stability"]``'s setting
    (``segments``, ``num_samples``; 0 = the explanation setting), every seed sharing one prediction cache.
    """
    from ..explain import explain
    from .track_metrics import track_metric_rows

    name, data_home, version = dataset
    model = resolve_model(model_spec)
    track = _dataset(name, data_home, version).track(track_id)
    audio, sr = track.audio
    stems = getattr(track, "stems", None)
    cfg = suite["explain"]
    seeds = list(cfg["seeds"])
    kwargs = dict(model=model, sr=int(sr), segments=cfg["segments"], num_samples=cfg["num_samples"],
                  kernel_width=cfg["kernel_width"], alpha=cfg["alpha"], batch_size=cfg["batch_size"],
                  estimator=cfg["estimator"], occlusion=cfg["occlusion"], enumeration=cfg["enumeration"],
                  sampler=cfg["sampler"], show_progress=False)
    if stems is not None:
        kwargs.update(stems=stems, stems_sr=int(sr))

    def seeded(**over):
        """Explanations for every seed; later seeds reuse the first one's prediction cache (repeated masks are
        never re-run) and are only computed when the masks depend on the seed."""
        one = explain(np.asarray(audio), seed=seeds[0], **{**kwargs, **over})
        if not one.seed_dependent:
            return [one]
        return [one] + [explain(np.asarray(audio), seed=s, cache=one.cache, **{**kwargs, **over})
                        for s in seeds[1:]]

    first, *others = seeded()
    st = suite["stability"]
    stab_setting = {"segments": st["segments"] or cfg["segments"],
                    "num_samples": st["num_samples"] or cfg["num_samples"]}
    same = stab_setting == {"segments": cfg["segments"], "num_samples": cfg["num_samples"]}
    stability = [first, *others] if same else seeded(**stab_setting)
    row = _rows(track_id, model_name, suite, k=len(first.components), n_used=first.masks.shape[0])
    truth = getattr(track, "static_targets", None) or {}
    rows = track_metric_rows(first, others, model=model, suite=suite, row=row, truth=truth,
                             stability=stability)
    return pd.DataFrame(rows, columns=ROW_COLUMNS)


def _atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _run_task(track_id, out_dir, model_spec, dataset, suite, model_name):
    """Worker entry point: compute one track and write its file; never raises (failures are recorded)."""
    out_dir = Path(out_dir)
    t0 = time.perf_counter()
    try:
        frame = evaluate_track(track_id, model_spec=model_spec, dataset=dataset, suite=suite, model_name=model_name)
        _atomic_write_text(out_dir / "tracks" / f"{track_id}.csv", frame.to_csv(index=False))
        fail = out_dir / "failures" / f"{track_id}.json"
        if fail.exists():
            fail.unlink()
        return {"track_id": track_id, "ok": True, "seconds": time.perf_counter() - t0}
    except Exception as err:  # a failing track is recorded and the run goes on
        kind = "expected" if isinstance(err, MerAudioLimeError) else "unexpected"
        record = {"track_id": track_id, "error": type(err).__name__, "message": str(err), "kind": kind,
                  "traceback": traceback.format_exc(limit=8), "seconds": time.perf_counter() - t0}
        _atomic_write_text(out_dir / "failures" / f"{track_id}.json", json.dumps(record, indent=2))
        return {"track_id": track_id, "ok": False, "seconds": time.perf_counter() - t0, "error": str(err)}


@dataclass
class EvaluationRun:
    """What :func:`evaluate` returns: the tidy rows, failures, and where everything was written."""

    rows: pd.DataFrame
    failures: list
    out_dir: Path
    manifest: dict = field(default_factory=dict)
    computed: list = field(default_factory=list)
    reused: list = field(default_factory=list)


def _check_resume(out_dir: Path, key: dict) -> None:
    path = out_dir / "run.json"
    if path.exists():
        old = json.loads(path.read_text())
        if old != key:
            diff = sorted(k for k in key if old.get(k) != key.get(k))
            raise ParameterError(
                f"{out_dir} holds a run with different settings ({', '.join(diff)}); use a new --out directory "
                "or delete the old one to start over."
            )
    else:
        _atomic_write_text(path, json.dumps(key, indent=2, sort_keys=True))


def evaluate(
    model: str,
    *,
    dataset: str,
    suite="standard",
    out_dir,
    data_home=None,
    version: str = "default",
    jobs: int = 1,
    dask_scheduler: str | None = None,
    model_name: str | None = None,
    progress: bool = True,
    write_reports: bool = True,
) -> EvaluationRun:
    """Run a suite over a dataset's tracks for one model; resumable; parallel.

    Parameters
    ----------
    model : str
        Any model spec: zoo name, checkpoint path, ``module:factory`` or ``file.py:factory`` (a string, so
        workers can load it themselves); stored resolved (absolute paths) in ``run.json`` and the manifest.
    dataset : str
        Registered dataset name (e.g. ``"synthetic"``).
    suite : str, path or dict
        Name of a shipped suite (see :func:`~mer_audiolime.evaluation.suites.list_suites`), a TOML path, or a dict.
    out_dir : path
        Results folder; rerunning into it resumes.
    data_home, version
        Passed to the dataset loader.
    jobs : int
        Worker processes (joblib); 1 = in this process.
    dask_scheduler : str, optional
        Address of a dask.distributed scheduler; tasks then run on its workers.
    model_name : str, optional
        Name used in the rows (default: the model's display name -- the zoo name, a checkpoint card's name,
        or ``<file>:<factory>``).
    progress : bool
        tqdm over tracks.
    write_reports : bool
        Write results.csv/.parquet, manifest.json, summary tables and figures at the end.

    Returns
    -------
    EvaluationRun
    """
    from tqdm.auto import tqdm

    if not isinstance(model, str):
        raise ParameterError("model must be a string (zoo name, checkpoint path or module:factory) so worker "
                             "processes can load it.")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ParameterError(f"jobs must be a positive integer, got {jobs!r}.")
    suite = load_suite(suite)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    from ..models.spec import parse_model_spec

    model = parse_model_spec(model).spec  # absolute: the run can be resumed and reported from anywhere
    # fail early (missing weights, bad spec) before any work is scheduled; rows carry the display name
    model_name = model_name or resolved_model(model).name
    dataset_key = (dataset, None if data_home is None else str(Path(data_home).resolve()), version)
    ids = load_tracks(dataset, data_home=dataset_key[1], version=version, split=suite["tracks"]["split"],
                      limit=suite["tracks"]["limit"])
    key = {"model": model_name, "model_spec": model, "dataset": dataset, "version": version,
           "suite": suite["name"], "suite_hash": suite_hash(suite)}
    _check_resume(out_dir, key)
    done = {p.stem for p in (out_dir / "tracks").glob("*.csv")}
    todo = [t for t in ids if t not in done]
    t0 = time.perf_counter()
    outcomes = []
    args = (str(out_dir), model, dataset_key, suite, model_name)
    bar = tqdm(total=len(ids), initial=len(ids) - len(todo), desc=f"evaluate {model_name}", unit="track",
               disable=not progress)
    try:
        if todo and dask_scheduler:
            outcomes = _run_dask(todo, args, dask_scheduler, bar)
        elif todo and jobs > 1:
            from joblib import Parallel, delayed

            # loky gives each worker cpu_count // jobs BLAS/torch threads; more oversubscribes (measured: 3x
            # slower with 2 workers x 2 threads on 2 cores)
            runner = Parallel(n_jobs=jobs, return_as="generator_unordered")
            for res in runner(delayed(_run_task)(t, *args) for t in todo):
                outcomes.append(res)
                bar.update(1)
        else:
            for t in todo:
                outcomes.append(_run_task(t, *args))
                bar.update(1)
    finally:
        bar.close()
    elapsed = time.perf_counter() - t0
    from .results import collect_rows, write_run_outputs

    rows, failures = collect_rows(out_dir, ids)
    run = EvaluationRun(rows=rows, failures=failures, out_dir=out_dir, computed=[o["track_id"] for o in outcomes],
                        reused=sorted(set(ids) & done))
    if write_reports:
        run.manifest = write_run_outputs(run, suite=suite, key=key, elapsed=elapsed, outcomes=outcomes,
                                         dataset=dataset_key, jobs=jobs, dask_scheduler=dask_scheduler)
    return run


def _run_dask(todo, args, address, bar):
    try:
        from dask.distributed import Client, as_completed
    except ImportError as err:
        raise ParameterError("--dask-scheduler needs dask[distributed]: pip install 'mer_audiolime[dask]'.") from err
    outcomes = []
    with Client(address, timeout="30s") as client:
        futures = [client.submit(_run_task, t, *args, pure=False, key=f"track-{t}") for t in todo]
        for fut in as_completed(futures):
            outcomes.append(fut.result())
            bar.update(1)
    return outcomes
