"""Tidy results of a harness run: rows, manifest, summary tables (Markdown, LaTeX) and figures.

The outputs of a run (``results.csv``, ``results.parquet``, the summary tables) are written atomically, and
``manifest.json`` last: it records the sha256 of each, so it vouches for exactly the files beside it.
:func:`verify_outputs` checks a folder against its manifest (``report`` refuses a folder that fails).

The summary tables are built in :mod:`~mer_audiolime.evaluation.tables` and the output files are written
and verified against the manifest in :mod:`~mer_audiolime.evaluation.integrity`; their names are re-exported
here.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pandas as pd

from .._version import package_versions  # public here too: a run's manifest records these
from ..datasets import load_cached
from ..exceptions import EvaluationError
from ..fileio import atomic_write_text, remove_owned
from ..models.checkpoint import sha256_file
from ..models.zoo import list_models, model_card
from ..plots import RUN_FIGURES, run_figures
from .integrity import file_hashes, read_results, verify_outputs, write_rows
from .rows import ROW_COLUMNS, read_rows, read_track_file
from .tables import (ATTRIBUTION_METRICS, EXACT, HEADLINE, LEGACY_METRIC_NAMES, STABILITY, convergence_table,
                     drop_exact_stability, headline_table, seed_independent, stability_setting, summarise,
                     upgrade_rows, warning_table, write_tables)

__all__ = ["collect_rows", "summarise", "headline_table", "convergence_table", "stability_setting",
           "write_tables", "write_run_outputs", "rebuild_outputs", "upgrade_rows", "drop_exact_stability",
           "seed_independent", "package_versions", "git_commit", "record_rebuild", "replace_figures",
           "read_rows", "LEGACY_METRIC_NAMES", "LEGACY_NOTE", "HEADLINE", "EXACT", "warning_table",
           "write_rows", "file_hashes", "verify_outputs", "read_results", "ATTRIBUTION_METRICS", "STABILITY"]


def collect_rows(out_dir, track_ids) -> tuple[pd.DataFrame, list]:
    """Read every finished track file (sorted by track id; each verified against its trailer) and every
    failure record.

    Raises
    ------
    IntegrityError
        A track file is damaged (the message names it).
    """
    out_dir = Path(out_dir)
    frames = []
    for tid in sorted(track_ids):
        path = out_dir / "tracks" / f"{tid}.csv"
        if path.exists():
            frames.append(read_track_file(path))
    rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=ROW_COLUMNS)
    failures = []
    for tid in sorted(track_ids):
        path = out_dir / "failures" / f"{tid}.json"
        if path.exists():
            try:
                failures.append(json.loads(path.read_text()))
            except (OSError, json.JSONDecodeError) as err:
                failures.append({"track_id": tid, "error": "IntegrityError", "kind": "expected",
                                 "message": f"unreadable failure record {path} ({err})"})
    return rows, failures



#: Said under the tables of rows written before enumerated coalitions were weighted (no ``source`` column).
LEGACY_NOTE = ("These rows were computed before enumerated coalitions counted their expected multiplicity: "
               "their enumerated LIME is plain enumeration (each coalition once with ridge alpha = 1, "
               "audioLIME's exhaustive mode), more shrunk than what N sampled rows converge to. Tables and "
               "figures were rebuilt from the rows with today's metric names; no explanation was re-run.")


def record_rebuild(manifest_path: Path, update, commit: str | None) -> None:
    """Note in a manifest that its tables and figures were rebuilt from its rows (and by what code)."""
    if not manifest_path.is_file():
        return
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    update(manifest)
    manifest["tables_rebuilt"] = {
        "note": "summary tables and figures rebuilt from the committed rows with the table code of the "
                "version below; no explanation was re-run, the rows are unchanged",
        "mer_audiolime": package_versions().get("mer_audiolime"), "git_commit": commit,
    }
    hashes = manifest.get("outputs_sha256")
    if isinstance(hashes, dict):  # the manifest vouches for the files beside it: rehash what was rewritten
        folder = manifest_path.parent
        manifest["outputs_sha256"] = {name: file_hashes(folder, [name])[name] if (folder / name).is_file()
                                      else value for name, value in hashes.items()}
    atomic_write_text(manifest_path, json.dumps(manifest, indent=2, default=str))


def replace_figures(rows: pd.DataFrame, folder) -> list:
    """Delete the harness figures in ``folder`` and draw them again from ``rows`` (seed-stability rows of
    seed-independent settings left out, so a figure that could only show 1.0 disappears)."""
    folder = Path(folder)
    for name in RUN_FIGURES:
        for ext in ("png", "pdf"):
            (folder / f"{name}.{ext}").unlink(missing_ok=True)
    return run_figures(drop_exact_stability(rows), folder)


def rebuild_outputs(folder, *, commit: str | None = None) -> list:
    """Rewrite the tables (``summary.md``, ``summary.tex``, ``summary_full.csv``) and figures of a finished
    evaluation folder from its ``results.csv`` with the current table code (no explanation is re-run; old
    rows are read through :func:`upgrade_rows`). Returns the files written."""
    folder = Path(folder)
    path = folder / "results.csv"
    if not path.is_file():
        raise EvaluationError(f"{folder} has no results.csv to rebuild tables from.")
    commit = commit or git_commit()  # before anything is written (the checkout is clean now, or never was)
    if (folder / "manifest.json").is_file():  # never rebuild tables from rows the manifest does not vouch for
        rows = read_results(folder)
    else:
        rows = read_rows(path)
    tables = write_tables(rows, folder, notes=[LEGACY_NOTE] if "source" not in rows.columns else None)
    figures = replace_figures(rows, folder / "figures")

    def update(manifest):
        if isinstance(manifest.get("outputs"), dict):
            manifest["outputs"]["figures"] = [str(p.relative_to(folder)) for p in figures]

    record_rebuild(folder / "manifest.json", update, commit)
    return tables + figures


def git_commit(path=None) -> str | None:
    """The checkout's commit (with ``+dirty`` when there are uncommitted changes), or None outside git."""
    cwd = Path(path or Path(__file__).resolve().parent)
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=10)
        if sha.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                               capture_output=True, text=True, timeout=10)
        return sha.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def _dataset_info(dataset) -> dict:
    name, data_home, version = dataset
    info = {"name": name, "data_home": data_home, "version": version}
    try:
        ds = load_cached(name, data_home, version)
        index_path = Path(getattr(ds, "index_path", "") or "")
        if index_path.is_file():
            info["index_path"] = str(index_path)
            info["index_sha256"] = sha256_file(index_path)
            info["index_version"] = json.loads(index_path.read_text()).get("version")
    except Exception as err:  # the manifest records what it could not read instead of failing the run
        info["index_error"] = f"{type(err).__name__}: {err}"
    return info


def _model_card(spec: str) -> dict | None:
    try:
        if spec in list_models():
            card = model_card(spec)
            return card.to_dict() if hasattr(card, "to_dict") else dict(card.__dict__)
    except Exception as err:
        return {"error": f"{type(err).__name__}: {err}"}
    return None



def write_run_outputs(run, *, suite, key, elapsed, outcomes, dataset, jobs, dask_scheduler,
                      weights=None) -> dict:
    """Write results.csv/.parquet, summary tables, figures and, last, manifest.json (with the sha256 of every
    output) for one evaluation run. Earlier figures are removed first (a run owns its ``figures/``)."""
    out = Path(run.out_dir)
    rows = run.rows
    remove_owned(out, ("figures",))
    hashes = write_rows(rows, out)
    tables = write_tables(rows, out)
    hashes.update(file_hashes(out, [p.name for p in tables]))
    figures = run_figures(drop_exact_stability(rows), out / "figures")
    warned = rows[rows["metric"] == "warning"] if len(rows) else rows
    manifest = {
        "created_unix": time.time(),
        "run": key,
        "suite": suite,
        "seeds": suite["explain"]["seeds"],
        "model_card": _model_card(key["model_spec"]),
        "model_weights": weights or {"spec": key["model_spec"]},
        "dataset": _dataset_info(dataset),
        "package_versions": package_versions(),
        "git_commit": git_commit(),
        "execution": {"jobs": jobs, "dask_scheduler": dask_scheduler, "elapsed_s": round(elapsed, 3),
                      "computed_tracks": len(run.computed), "reused_tracks": len(run.reused),
                      "repaired_tracks": list(getattr(run, "repaired", []) or []),
                      "track_seconds": {o["track_id"]: round(o["seconds"], 3) for o in outcomes}},
        "n_tracks": int(rows["track_id"].nunique()) if len(rows) else 0,
        "n_rows": int(len(rows)),
        "failures": [{k: f.get(k) for k in ("track_id", "error", "message", "kind")} for f in run.failures],
        "warnings": {code: sorted(grp["track_id"].unique().tolist())
                     for code, grp in warned.groupby("component")} if len(warned) else {},
        "outputs": {"rows": ["results.csv", "results.parquet"], "tables": [p.name for p in tables],
                    "figures": [str(p.relative_to(out)) for p in figures]},
        "outputs_sha256": hashes,
    }
    atomic_write_text(out / "manifest.json", json.dumps(manifest, indent=2, default=str))
    if len(rows) == 0 and run.failures:
        raise EvaluationError(
            f"every track failed ({len(run.failures)}); first failure: {run.failures[0]['error']}: "
            f"{run.failures[0]['message']} (details in {out / 'failures'})"
        )
    return manifest

