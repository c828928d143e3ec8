"""Tidy results of a harness run: rows, manifest, summary tables (Markdown, LaTeX) and figures.

The outputs of a run (``results.csv``, ``results.parquet``, the summary tables) are written atomically, and
``manifest.json`` last: it records the sha256 of each, so it vouches for exactly the files beside it.
:func:`verify_outputs` checks a folder against its manifest (``report`` refuses a folder that fails).
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .._version import package_versions  # public here too: a run's manifest records these
from ..datasets import load_cached
from ..exceptions import EvaluationError, IntegrityError
from ..fileio import atomic_write_bytes, atomic_write_text, remove_owned
from ..models.checkpoint import sha256_file
from ..models.zoo import list_models, model_card
from ..names import MIDLEVEL_NAMES
from ..plots import RUN_FIGURES, run_figures
from .rows import ROW_COLUMNS, read_rows, read_track_file
from .track_metrics import CONVERGENCE_METRIC

__all__ = ["collect_rows", "summarise", "headline_table", "convergence_table", "stability_setting",
           "write_tables", "write_run_outputs", "rebuild_outputs", "upgrade_rows", "drop_exact_stability",
           "seed_independent", "package_versions", "git_commit", "record_rebuild", "replace_figures",
           "read_rows", "LEGACY_METRIC_NAMES", "LEGACY_NOTE", "HEADLINE", "EXACT", "warning_table",
           "write_rows", "file_hashes", "verify_outputs", "read_results"]


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




#: Metric names of rows written before the names said what is computed (benchmark synthetic-v1), and what
#: the values are: ``infidelity`` held the relative infidelity, ``aopc_*`` and ``normalised_area`` the
#: baseline-corrected scores over R, the curves ``(f - f(0)) / R``.
LEGACY_METRIC_NAMES = {
    "infidelity": "relative_infidelity",
    "aopc_deletion": "norm_aopc_deletion_minus_random",
    "aopc_insertion": "norm_aopc_insertion_minus_random",
    "normalised_area": "norm_abc_minus_random",
    "deletion_curve": "norm_deletion_curve",
    "insertion_curve": "norm_insertion_curve",
    "random_deletion_curve": "norm_random_deletion_curve",
    "random_insertion_curve": "norm_random_insertion_curve",
}

#: Per-attribution metrics (rows that carry a ``source``).
ATTRIBUTION_METRICS = ("weight", "surrogate_r2", "norm_aopc_deletion_minus_random",
                       "norm_aopc_insertion_minus_random", "norm_abc_minus_random",
                       "faithfulness_correlation", "relative_infidelity", "jaccard_topk", "kendall_tau", "vsi",
                       "csi")
STABILITY = ("jaccard_topk", "kendall_tau", "vsi", "csi")
HEADLINE = ("surrogate_r2", "norm_aopc_deletion_minus_random", "norm_aopc_insertion_minus_random",
            "norm_abc_minus_random", "faithfulness_correlation", "relative_infidelity", "jaccard_topk",
            "kendall_tau", "vsi", "csi", "error", "reconstruction_gap")
#: What a stability cell says when the masks do not depend on the seed.
EXACT = "exact (no sampling)"


def upgrade_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows written before the ``source`` column existed, in today's layout (tables of old runs are rebuilt
    from their committed rows with today's table code; the rows themselves are never rewritten).

    Legacy metric names are mapped (:data:`LEGACY_METRIC_NAMES`); the ``source`` of per-attribution rows is
    what the harness used then: the mid-level chain of LIME (``"chain:lime"``) for the emotions of a model
    with mid-level outputs, LIME (``"lime"``) for every other output. Rows that already have a ``source``
    column are returned unchanged.
    """
    if "source" in rows.columns:
        return rows

    out = rows.copy()
    out["metric"] = out["metric"].replace(LEGACY_METRIC_NAMES)
    has_chain = out.groupby("model")["target"].transform(lambda t: bool(set(t) & set(MIDLEVEL_NAMES)))
    per_attribution = out["metric"].isin(ATTRIBUTION_METRICS) | out["metric"].str.startswith("norm_")
    chained = has_chain & ~out["target"].isin(MIDLEVEL_NAMES)
    out["source"] = np.where(per_attribution, np.where(chained, "chain:lime", "lime"), "")
    return out


def seed_independent(rows: pd.DataFrame) -> pd.Series:
    """Rows measured on a setting whose masks do not depend on the seed (an enumerated LIME setting,
    ``2**k_components <= num_samples`` rows used; exact Shapley values; occlusion): there every seed gives
    the same attribution, so a seed-stability number cannot vary."""
    direct = rows["source"].astype(str).str.replace("chain:", "", regex=False)
    k = pd.to_numeric(rows["k_components"], errors="coerce").fillna(0).to_numpy(dtype=float)
    n = pd.to_numeric(rows["num_samples"], errors="coerce").fillna(0).to_numpy(dtype=float)
    enumerated = (direct == "lime") & (np.exp2(k) <= n)
    return enumerated | direct.isin(["shapley", "leave_one_out", "add_one_in"])


def drop_exact_stability(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows without seed-stability numbers of seed-independent settings (which cannot vary)."""
    rows = upgrade_rows(rows)
    return rows[~(rows["metric"].isin(STABILITY) & seed_independent(rows))]


def summarise(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean, standard deviation and count over tracks of every scalar metric (per model, target, source,
    metric).

    Component-level rows (weights) are summarised per stem as ``weight[<component>]``; seeds are averaged per
    track first so every track counts once. Seed-stability rows of seed-independent settings are left out,
    and so are trust-warning rows (see :func:`warning_table`).
    """
    if rows.empty:
        return pd.DataFrame(columns=["model", "target", "source", "metric", "mean", "std", "n"])
    data = drop_exact_stability(rows)
    data = data[data["metric"] != "warning"].copy()  # trust warnings are not numbers to average
    data["source"] = data["source"].astype(str)
    data["metric"] = np.where(data["component"].astype(str) != "", data["metric"] + "[" + data["component"] + "]",
                              data["metric"])
    data = data[data["step"] < 0]
    keys = ["model", "target", "source", "metric"]
    per_track = data.groupby(keys + ["track_id"], sort=True)["value"].mean().reset_index()
    out = per_track.groupby(keys, sort=True)["value"].agg(["mean", "std", "count"])
    return out.rename(columns={"count": "n"}).reset_index()


def _cell(mean: float, std: float) -> str:
    return f"{mean:.3f} ± {std:.3f}" if np.isfinite(std) else f"{mean:.3f}"


def headline_table(rows: pd.DataFrame) -> pd.DataFrame:
    """The headline metrics (mean ± sd over tracks) per model, target and attribution source.

    One row per (model, target, source of its attribution); model-level numbers (``error``,
    ``reconstruction_gap``) are shown on every row of their target. A stability cell reads
    ``"exact (no sampling)"`` where the explanation setting does not depend on the seed and no sampled
    setting was measured, so no number that cannot vary is printed.
    """
    if rows.empty:
        return pd.DataFrame()
    rows = upgrade_rows(rows)
    summary = summarise(rows)
    head = summary[summary["metric"].isin(HEADLINE)].copy()
    if head.empty:
        return pd.DataFrame()
    head["value"] = [_cell(m, s) for m, s in zip(head["mean"], head["std"])]
    attributed = head[head["source"] != ""]
    plain = head[head["source"] == ""]
    table = attributed.pivot_table(index=["model", "target", "source"], columns="metric", values="value",
                                   aggfunc="first").reset_index()
    weights = rows[(rows["metric"] == "weight") & (rows["source"].astype(str) != "")]
    keys = weights[["model", "target", "source"]].drop_duplicates()
    table = keys.merge(table, on=["model", "target", "source"], how="outer") if len(table) else keys.copy()
    exact = weights.assign(_exact=seed_independent(weights)).groupby(["model", "target", "source"])["_exact"]
    exact = exact.all()
    for metric in STABILITY:
        table[metric] = table[metric].astype(object) if metric in table.columns else pd.Series(
            np.nan, index=table.index, dtype=object)
        missing = table[metric].isna()
        is_exact = [bool(exact.get((m, t, s), False)) for m, t, s in zip(table["model"], table["target"],
                                                                      table["source"])]
        table.loc[missing & np.array(is_exact, dtype=bool), metric] = EXACT
    if len(plain):
        per_target = plain.pivot_table(index=["model", "target"], columns="metric", values="value",
                                       aggfunc="first").reset_index()
        table = table.merge(per_target, on=["model", "target"], how="outer") if len(table) else per_target
    table["source"] = table.get("source", pd.Series("", index=table.index)).fillna("")
    table = table.rename(columns={"source": "attribution"}).sort_values(["model", "target", "attribution"])
    columns = [m for m in HEADLINE if m in table.columns and table[m].notna().any()]
    return table[["model", "target", "attribution"] + columns].fillna("—").reset_index(drop=True)


def stability_setting(rows: pd.DataFrame) -> str:
    """One sentence naming the setting(s) the stability numbers were measured on, from the rows."""
    rows = drop_exact_stability(rows)
    stab = rows[rows["metric"].isin(STABILITY)]
    if stab.empty:
        return (f"Stability across seeds: {EXACT} -- the masks do not depend on the seed (every coalition "
                "enumerated, or a deterministic estimator), so every seed gives the same attribution.")
    settings = stab[["k_components", "num_samples"]].drop_duplicates().sort_values(["k_components",
                                                                                    "num_samples"])
    what = "; ".join(f"K = {int(k)} components, N = {int(n)} sampled rows" for k, n in settings.to_numpy())
    return (f"Stability across seeds (jaccard_topk, kendall_tau, vsi, csi) is measured on a sampled setting: "
            f"{what}. Where a cell reads '{EXACT}' the masks do not depend on the seed.")


def convergence_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Median (and quartiles) over tracks, targets and seeds of the relative error of N-row LIME weights to
    the enumerated reference, per model and N (empty without convergence rows)."""
    conv = rows[rows["metric"] == CONVERGENCE_METRIC]
    if conv.empty:
        return pd.DataFrame()
    grouped = conv.groupby(["model", "step"])["value"]
    out = pd.DataFrame({"median": grouped.median(), "q25": grouped.quantile(0.25),
                        "q75": grouped.quantile(0.75), "n": grouped.size()}).reset_index().rename(columns={"step": "num_samples"})
    return out


def warning_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Trust warnings of a run: per model and warning code, how many tracks carry it and which.

    Columns: ``model, warning, tracks, track_ids``.
    """
    cols = ["model", "warning", "tracks", "track_ids"]
    if rows.empty:
        return pd.DataFrame(columns=cols)
    w = rows[rows["metric"] == "warning"]
    if w.empty:
        return pd.DataFrame(columns=cols)
    out = []
    for (model, code), grp in w.groupby(["model", "component"], sort=True):
        ids = sorted(grp["track_id"].unique())
        out.append({"model": model, "warning": code, "tracks": len(ids),
                    "track_ids": ", ".join(ids[:10]) + (" ..." if len(ids) > 10 else "")})
    return pd.DataFrame(out, columns=cols)


def write_tables(rows: pd.DataFrame, out_dir, *, extra: dict | None = None, notes=None) -> list:
    """``summary.md`` and ``summary.tex`` (headline metrics, mean ± sd; convergence; trust warnings), plus
    ``summary_full.csv`` (every summarised metric), from tidy rows, each written atomically; ``notes`` are
    paragraphs printed under the headline table."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = upgrade_rows(rows)
    atomic_write_text(out_dir / "summary_full.csv", summarise(rows).to_csv(index=False))
    flat = headline_table(rows)
    note = " ".join(([stability_setting(rows)] if len(rows) else []) + list(notes or []))
    parts = ["# Summary\n", "Mean ± standard deviation over tracks; `attribution` names the source of the "
             "attribution each row measures (`chain:lime`: the mid-level chain of LIME; `lime`: LIME on the "
             "output itself). Metric definitions: docs/metrics.md.\n",
             flat.to_markdown(index=False) if len(flat) else "(no rows)", "", note]
    conv = convergence_table(rows)
    sections = dict(extra or {})
    if len(conv):
        sections = {"Convergence of LIME weights with N (relative error to the enumerated reference; median "
                    "and quartiles over tracks, outputs and seeds)": conv, **sections}
    warned = warning_table(rows)
    if len(warned):
        sections["Trust warnings (tracks per warning; docs/explain.md#trust-warnings)"] = warned
    for title, frame in sections.items():
        parts += [f"\n\n## {title}\n", frame.to_markdown(index=False, floatfmt=".4g")]
    atomic_write_text(out_dir / "summary.md", "\n".join(parts) + "\n")
    latex = flat.to_latex(index=False, escape=True) if len(flat) else ""
    if note:
        latex += f"% {note}\n"
    for title, frame in sections.items():
        latex += f"\n% {title}\n" + frame.to_latex(index=False, escape=True, float_format="%.3f")
    atomic_write_text(out_dir / "summary.tex", latex)
    return [out_dir / "summary.md", out_dir / "summary.tex", out_dir / "summary_full.csv"]


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


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_rows(rows: pd.DataFrame, out_dir) -> dict:
    """Write ``results.csv`` and ``results.parquet`` atomically; return ``{file name: sha256}``."""
    out = Path(out_dir)
    csv = rows.to_csv(index=False).encode("utf-8")
    buffer = io.BytesIO()
    rows.to_parquet(buffer, index=False)
    parquet = buffer.getvalue()
    atomic_write_bytes(out / "results.csv", csv)
    atomic_write_bytes(out / "results.parquet", parquet)
    return {"results.csv": _sha256(csv), "results.parquet": _sha256(parquet)}


def file_hashes(out_dir, names) -> dict:
    """``{name: sha256}`` of the files ``names`` in ``out_dir``."""
    return {name: sha256_file(Path(out_dir) / name) for name in names}


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


def read_results(folder, manifest: dict | None = None) -> pd.DataFrame:
    """``results.csv`` of a run or benchmark folder, after :func:`verify_outputs`.

    Raises
    ------
    IntegrityError
        The folder's files do not agree with its manifest (the message names the file).
    """
    folder = Path(folder)
    if manifest is None:
        try:
            manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise IntegrityError(f"cannot read {folder / 'manifest.json'}: {err}") from err
    verify_outputs(folder, manifest)
    return _read_csv(folder / "results.csv")


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        frame = read_rows(path)
    except Exception as err:  # pandas raises several types on malformed CSV
        raise IntegrityError(f"{path} is not a readable table ({type(err).__name__}: {err}).") from err
    missing = [c for c in ROW_COLUMNS if c not in frame.columns and c != "source"]  # older rows: no source
    if missing:
        raise IntegrityError(f"{path} lacks the row columns {missing}; it was not written by "
                             "evaluate/benchmark.")
    if not pd.api.types.is_numeric_dtype(frame["value"]):
        raise IntegrityError(f"{path}: column 'value' holds non-numbers; the file was altered.")
    return frame


def verify_outputs(folder, manifest: dict) -> None:
    """Check that a run's output files are the ones its manifest vouches for.

    With ``outputs_sha256`` in the manifest every listed file must exist and match; older manifests (no
    hashes) are checked for agreement between ``results.csv``, ``results.parquet`` and ``n_tracks``.

    Raises
    ------
    IntegrityError
        Naming the first file that is missing, altered, truncated or inconsistent, and how to repair it.
    """
    folder = Path(folder)
    fix = ("rerun the same `mer-audiolime evaluate`/`benchmark` command into this folder to rewrite its "
           "outputs from the verified per-track files")
    hashes = manifest.get("outputs_sha256")
    if hashes:
        for name, expected in hashes.items():
            path = folder / name
            if not path.is_file():
                raise IntegrityError(f"{path} is missing but {folder / 'manifest.json'} lists it; {fix}.")
            if sha256_file(path) != expected:
                raise IntegrityError(f"{path} does not match the sha256 recorded in "
                                     f"{folder / 'manifest.json'} (it was cut short, altered or written by "
                                     f"an interrupted run); {fix}.")
        return
    csv_path = folder / "results.csv"
    if not csv_path.is_file():
        raise IntegrityError(f"{csv_path} is missing; was the run finished? {fix}.")
    rows = _read_csv(csv_path)
    parquet = folder / "results.parquet"
    if parquet.is_file():
        try:
            n_parquet = len(pd.read_parquet(parquet, columns=["track_id"]))
        except Exception as err:  # pyarrow raises several types on damaged files
            raise IntegrityError(f"{parquet} is not readable ({type(err).__name__}: {err}); {fix}.") from err
        if n_parquet != len(rows):
            raise IntegrityError(f"{csv_path} holds {len(rows)} rows but {parquet} holds {n_parquet}: the "
                                 f"two disagree; {fix}.")
    n_tracks = manifest.get("n_tracks")
    if n_tracks is not None and len(rows) and rows["track_id"].nunique() != int(n_tracks):
        raise IntegrityError(f"{csv_path} holds {rows['track_id'].nunique()} tracks but "
                             f"{folder / 'manifest.json'} says {n_tracks}; {fix}.")
