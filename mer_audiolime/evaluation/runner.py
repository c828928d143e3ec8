"""The harness runner: every track of a dataset through one model and one suite, resumable and parallel.

Each track is an independent task that writes its tidy rows atomically to ``<out>/tracks/<track_id>.csv``
as soon as it finishes, closed by a trailer line with the row count and the sha256 of the rows (a failure
writes ``<out>/failures/<track_id>.json`` with the reason, and the run goes on). A killed run resumes where it
stopped: finished tracks are verified against their trailer and read back, never recomputed; a damaged file is
moved aside (``<track_id>.csv.damaged``), recomputed and reported. Tasks run in this process (``jobs=1``), in
joblib worker processes (``jobs=N``), or on a dask.distributed cluster (``dask_scheduler="tcp://host:port"``).
Rows depend only on the track, the model, the suite and the seeds, so the result does not depend on order,
parallelism or interruptions.

Everything that can be checked is checked before the first model call: the output folder, the suite, the
model, the tracks, the dask scheduler. A folder is bound to one run's settings (``run.json``) once it holds a
finished track; until then a rerun with corrected settings takes it over.
"""

from __future__ import annotations

import json
import os
import time
import traceback
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from ..datasets import load_cached
from ..exceptions import (DatasetError, EvaluationError, ExplanationWarning, IntegrityError,
                          MerAudioLimeError, ParameterError, TruncatedAudioWarning)
from ..explain.lime_audio import explain
from ..explain.diagnostics import TrustWarning
from ..fileio import atomic_write_text, remove_owned, removing_if_unused
from ..models import spec as model_specs  # called through the module: one parser, patchable in tests
from ..validation import check_dask_address, check_int, check_writable_dir
from .results import collect_rows, write_run_outputs
from .rows import ROW_COLUMNS, TRACK_TRAILER, read_track_file, write_track_file
from .suites import load_suite, suite_hash
from .track_metrics import track_metric_rows

__all__ = ["ROW_COLUMNS", "EvaluationRun", "evaluate", "resolve_model", "resolved_model", "evaluate_track",
           "load_tracks", "explain_track", "read_track_audio", "write_track_file", "read_track_file",
           "TRACK_TRAILER"]

@lru_cache(maxsize=8)
def resolved_model(spec: str):
    """The :class:`~mer_audiolime.models.spec.ResolvedModel` of any model spec (zoo name, checkpoint,
    ``module:factory``, ``file.py:factory``), built once per process."""
    return model_specs.resolve_model(spec)


def resolve_model(spec: str):
    """The predictor of any model spec (see :func:`resolved_model`), cached per process."""
    return resolved_model(spec).predictor


def load_tracks(name: str, *, data_home=None, version: str = "default", split: str = "test", limit: int = 0):
    """Track ids of ``split`` (``"all"`` for every track), sorted, at most ``limit`` (0 = all)."""
    ds = load_cached(name, None if data_home is None else str(data_home), version)
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


def read_track_audio(track) -> tuple:
    """A track's audio, its rate, and a ``truncated_audio`` trust warning per truncation the decoder reported.

    Returns
    -------
    audio : np.ndarray
    sr : int
    notes : list of TrustWarning
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TruncatedAudioWarning)
        audio, sr = track.audio
    notes = []
    for w in caught:
        if issubclass(w.category, TruncatedAudioWarning):
            notes.append(TrustWarning("truncated_audio", str(w.message)))
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    return np.asarray(audio), int(sr), notes


def explain_track(track, *, model, suite: dict, seeds=None, setting: dict | None = None, loaded=None,
                  show_progress: bool = False) -> list:
    """Explanations of one dataset track with a suite's ``[explain]`` settings.

    The one definition of "explain a track as the harness does": :func:`evaluate_track` measures these
    explanations and the report's track pages show them, so a page can never drift from the numbers of its
    run. Later seeds reuse the first explanation's prediction cache (repeated masks are never re-run). A
    truncated audio file becomes a ``truncated_audio`` trust warning of every explanation.

    Parameters
    ----------
    track : Track
        A dataset track (``.audio``, optionally ``.stems`` for oracle separation).
    model : Predictor
    suite : dict
        A loaded suite (:func:`~mer_audiolime.evaluation.suites.load_suite`).
    seeds : sequence of int, optional
        Explain exactly these seeds. Default: the suite's first seed, and its other seeds too when the masks
        depend on the seed.
    setting : dict, optional
        Overrides of the ``[explain]`` values (e.g. the stability setting's ``segments``, ``num_samples``).
    loaded : tuple, optional
        ``(audio, sr, notes)`` from :func:`read_track_audio`, to decode a track once for several settings.
    show_progress : bool

    Returns
    -------
    list of Explanation
        In the order of the seeds.

    Examples
    --------
    >>> first = explain_track(track, model=model, suite=load_suite("quick"), seeds=[0])[0]  # doctest: +SKIP
    """
    cfg = {**suite["explain"], **(setting or {})}
    audio, sr, notes = loaded if loaded is not None else read_track_audio(track)
    stems = getattr(track, "stems", None)
    kwargs = dict(model=model, sr=int(sr), segments=cfg["segments"], num_samples=cfg["num_samples"],
                  kernel_width=cfg["kernel_width"], alpha=cfg["alpha"], batch_size=cfg["batch_size"],
                  estimator=cfg["estimator"], occlusion=cfg["occlusion"], enumeration=cfg["enumeration"],
                  sampler=cfg["sampler"], show_progress=show_progress)
    if stems is not None:
        kwargs.update(stems=stems, stems_sr=int(sr))
    chosen = list(cfg["seeds"] if seeds is None else seeds)
    exps = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExplanationWarning)  # kept in exp.warnings and in the result rows
        for i, seed in enumerate(chosen):
            if i == 1 and seeds is None and not exps[0].seed_dependent:
                break  # enumerated / occlusion masks do not depend on the seed: one explanation is all
            exp = explain(audio, seed=int(seed), cache=exps[0].cache if exps else None, **kwargs)
            exp.warnings = list(notes) + list(exp.warnings)
            exps.append(exp)
    return exps


def evaluate_track(track_id: str, *, model_spec: str, dataset: tuple, suite: dict,
                   model_name: str) -> pd.DataFrame:
    """All rows of one track: predictions, truth, attributions, fidelity, stability, convergence, chain, and
    the trust warnings of each explanation (``metric="warning"``, ``component=<code>``, ``value=1``).

    The suite's explanation setting is explained with its first seed (and its other seeds too when the masks
    depend on the seed), by :func:`explain_track`. Seed stability and convergence are measured on
    ``suite["stability"]``'s setting (``segments``, ``num_samples``; 0 = the explanation setting), every seed
    sharing one prediction cache.
    """
    name, data_home, version = dataset
    model = resolve_model(model_spec)
    track = load_cached(name, data_home, version).track(track_id)
    loaded = read_track_audio(track)
    cfg = suite["explain"]
    first, *others = explain_track(track, model=model, suite=suite, loaded=loaded)
    st = suite["stability"]
    stab_setting = {"segments": st["segments"] or cfg["segments"],
                    "num_samples": st["num_samples"] or cfg["num_samples"]}
    same = stab_setting == {"segments": cfg["segments"], "num_samples": cfg["num_samples"]}
    stability = [first, *others] if same else explain_track(track, model=model, suite=suite,
                                                             setting=stab_setting, loaded=loaded)
    row = _rows(track_id, model_name, suite, k=len(first.components), n_used=first.masks.shape[0])
    truth = getattr(track, "static_targets", None) or {}
    rows = track_metric_rows(first, others, model=model, suite=suite, row=row, truth=truth,
                             stability=stability)
    return pd.DataFrame(rows, columns=ROW_COLUMNS)


def _run_task(track_id, out_dir, model_spec, dataset, suite, model_name):
    """Worker entry point: compute one track and write its file; never raises (failures are recorded)."""
    out_dir = Path(out_dir)
    t0 = time.perf_counter()
    try:
        frame = evaluate_track(track_id, model_spec=model_spec, dataset=dataset, suite=suite, model_name=model_name)
        write_track_file(out_dir / "tracks" / f"{track_id}.csv", frame)
        fail = out_dir / "failures" / f"{track_id}.json"
        if fail.exists():
            fail.unlink()
        return {"track_id": track_id, "ok": True, "seconds": time.perf_counter() - t0}
    except Exception as err:  # a failing track is recorded and the run goes on
        kind = "expected" if isinstance(err, MerAudioLimeError) else "unexpected"
        record = {"track_id": track_id, "error": type(err).__name__, "message": str(err), "kind": kind,
                  "traceback": traceback.format_exc(limit=8), "seconds": time.perf_counter() - t0}
        atomic_write_text(out_dir / "failures" / f"{track_id}.json", json.dumps(record, indent=2))
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
    repaired: list = field(default_factory=list)

    def warning_counts(self) -> dict:
        """Trust-warning code -> number of tracks whose explanations carry it."""
        if self.rows.empty:
            return {}
        w = self.rows[self.rows["metric"] == "warning"]
        return {code: int(n) for code, n in w.groupby("component")["track_id"].nunique().items()}


#: What a run owns in its folder besides tracks/ and failures/ (rewritten together at the end of each run).
RUN_OUTPUTS = ("results.csv", "results.parquet", "summary.md", "summary.tex", "summary_full.csv",
               "manifest.json", "figures")


def _bind(out_dir: Path, key: dict) -> None:
    """Tie ``out_dir`` to one run's settings, or refuse a folder that holds results of other settings.

    A folder whose ``run.json`` differs but which holds no finished track (e.g. every track of a run with a
    bad suite failed) is taken over: its failure records and outputs are removed.
    """
    path = out_dir / "run.json"
    finished = sorted((out_dir / "tracks").glob("*.csv"))
    if path.exists():
        try:
            old = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise IntegrityError(f"{path} is unreadable ({err}); it says which settings the results in "
                                 f"{out_dir} belong to. Use a new --out, or delete the folder to start "
                                 "over.") from err
        if old == key:
            return
        if finished:
            diff = sorted(k for k in set(key) | set(old) if old.get(k) != key.get(k))
            raise ParameterError(
                f"{out_dir} holds a run with different settings ({', '.join(diff)}) and {len(finished)} "
                "finished track(s); use a new --out directory or delete the old one to start over."
            )
        remove_owned(out_dir, ("failures",) + RUN_OUTPUTS)
    elif finished or (out_dir / "results.csv").exists() or (out_dir / "manifest.json").exists():
        raise ParameterError(
            f"{out_dir} holds results (tracks/ or results.csv) but no run.json saying which settings "
            "produced them, so they cannot be resumed or mixed with this run; use a new --out directory."
        )
    atomic_write_text(path, json.dumps(key, indent=2, sort_keys=True))


def _verify_finished(out_dir: Path, ids: list) -> tuple[set, list]:
    """Finished track ids whose files verify, and the damaged ones (moved aside to ``*.csv.damaged``)."""
    done, damaged = set(), []
    for tid in ids:
        path = out_dir / "tracks" / f"{tid}.csv"
        if not path.exists():
            continue
        try:
            read_track_file(path)
            done.add(tid)
        except IntegrityError as err:
            os.replace(path, path.with_name(path.name + ".damaged"))
            damaged.append({"track_id": tid, "file": str(path), "reason": str(err)})
    return done, damaged


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
        Results folder; rerunning into it resumes (finished tracks are verified; damaged ones recomputed). It
        must be writable; once it holds a finished track it is bound to these settings (``run.json``), and a
        folder holding results without ``run.json`` is refused.
    data_home, version
        Passed to the dataset loader.
    jobs : int
        Worker processes (joblib); 1 = in this process.
    dask_scheduler : str, optional
        Address of a dask.distributed scheduler (``tcp://host:port``); tasks then run on its workers. It
        must answer within 5 s, before any work starts.
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

    Raises
    ------
    ParameterError
        A bad output folder, suite value, model spec or scheduler, before any track is explained.
    EvaluationError
        Every track failed (each failure is recorded in ``failures/``).

    Examples
    --------
    >>> run = evaluate("a2mid2e_synth_clean", dataset="synthetic", data_home="synth/",
    ...                suite="quick", out_dir="results/clean")                # doctest: +SKIP
    >>> run.warning_counts()                                                  # doctest: +SKIP
    """
    from tqdm.auto import tqdm

    if not isinstance(model, str) or not model.strip():
        raise ParameterError("model must be a string (zoo name, checkpoint path or module:factory) so worker "
                             "processes can load it.")
    jobs = check_int(jobs, "jobs", minimum=1)
    # everything that can be checked is checked here, before any track is explained; a refused run leaves
    # no folder behind that it created
    with removing_if_unused(out_dir):
        out_dir = check_writable_dir(out_dir, name="out_dir")
        suite = load_suite(suite)
        if dask_scheduler is not None:
            dask_scheduler = check_dask_address(dask_scheduler)

        model = model_specs.parse_model_spec(model).spec  # absolute: the run can be resumed and reported from anywhere
        # fail early (missing weights, bad spec) before any work is scheduled; rows carry the display name
        resolved = resolved_model(model)
        predictor = resolved.predictor
        model_name = model_name or resolved.name
        dataset_key = (dataset, None if data_home is None else str(Path(data_home).resolve()), version)
        ids = load_tracks(dataset, data_home=dataset_key[1], version=version, split=suite["tracks"]["split"],
                          limit=suite["tracks"]["limit"])
        key = {"model": model_name, "model_spec": model, "dataset": dataset, "version": version,
               "suite": suite["name"], "suite_hash": suite_hash(suite)}
        if getattr(predictor, "weights_sha256", None):
            key["weights_sha256"] = predictor.weights_sha256  # new weights never resume old rows
        _bind(out_dir, key)
    done, damaged = _verify_finished(out_dir, ids)
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

    rows, failures = collect_rows(out_dir, ids)
    run = EvaluationRun(rows=rows, failures=failures, out_dir=out_dir, computed=[o["track_id"] for o in outcomes],
                        reused=sorted(set(ids) & done), repaired=damaged)
    if write_reports:
        weights = {"spec": model, "path": getattr(predictor, "weights_path", None),
                   "sha256": getattr(predictor, "weights_sha256", None)}
        run.manifest = write_run_outputs(run, suite=suite, key=key, elapsed=elapsed, outcomes=outcomes,
                                         dataset=dataset_key, jobs=jobs, dask_scheduler=dask_scheduler,
                                         weights=weights)
    return run


def _run_dask(todo, args, address, bar):
    try:
        from dask.distributed import Client, as_completed
    except ImportError as err:
        raise ParameterError("--dask-scheduler needs dask[distributed]: pip install 'mer_audiolime[dask]'.") from err
    outcomes = []
    try:
        client = Client(address, timeout="10s")
    except (OSError, TimeoutError) as err:
        raise ParameterError(f"cannot connect to the dask scheduler at {address!r}: {err}; check the address "
                             "or drop --dask-scheduler.") from err
    with client:
        futures = [client.submit(_run_task, t, *args, pure=False, key=f"track-{t}") for t in todo]
        for fut in as_completed(futures):
            outcomes.append(fut.result())
            bar.update(1)
    return outcomes
