"""Tidy results of a harness run: rows, manifest, summary tables (Markdown, LaTeX) and figures."""

from __future__ import annotations

import json
import platform
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ..exceptions import EvaluationError

__all__ = ["collect_rows", "summarise", "write_tables", "write_run_outputs", "package_versions", "git_commit"]


def collect_rows(out_dir, track_ids) -> tuple[pd.DataFrame, list]:
    """Read every finished track file (sorted by track id) and every failure record."""
    from .runner import ROW_COLUMNS

    out_dir = Path(out_dir)
    frames = []
    for tid in sorted(track_ids):
        path = out_dir / "tracks" / f"{tid}.csv"
        if path.exists():
            frames.append(pd.read_csv(path, dtype={"track_id": str, "component": str, "target": str},
                                      keep_default_na=False))
    rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=ROW_COLUMNS)
    failures = []
    for tid in sorted(track_ids):
        path = out_dir / "failures" / f"{tid}.json"
        if path.exists():
            failures.append(json.loads(path.read_text()))
    return rows, failures


def summarise(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean, standard deviation and count over tracks of every scalar metric (per model, target, metric).

    Component-level rows (weights) are summarised per stem as ``weight[<component>]``; seeds are averaged per
    track first so every track counts once.
    """
    if rows.empty:
        return pd.DataFrame(columns=["model", "target", "metric", "mean", "std", "n"])
    data = rows.copy()
    data["metric"] = np.where(data["component"].astype(str) != "", data["metric"] + "[" + data["component"] + "]",
                              data["metric"])
    data = data[data["step"] < 0]
    per_track = data.groupby(["model", "target", "metric", "track_id"], sort=True)["value"].mean().reset_index()
    out = per_track.groupby(["model", "target", "metric"], sort=True)["value"].agg(["mean", "std", "count"])
    return out.rename(columns={"count": "n"}).reset_index()


_HEADLINE = ("surrogate_r2", "aopc_deletion", "aopc_insertion", "normalised_area", "faithfulness_correlation",
             "infidelity", "jaccard_topk", "kendall_tau", "vsi", "csi", "error", "reconstruction_gap")


def write_tables(summary: pd.DataFrame, out_dir, *, extra: dict | None = None) -> list:
    """``summary.md`` and ``summary.tex`` (headline metrics, mean ± sd), plus ``summary_full.csv``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary.to_csv(out_dir / "summary_full.csv", index=False)
    head = summary[summary["metric"].isin(_HEADLINE)].copy()
    head["value"] = [f"{m:.3f} ± {s:.3f}" if np.isfinite(s) else f"{m:.3f}" for m, s in zip(head["mean"], head["std"])]
    table = head.pivot_table(index=["model", "target"], columns="metric", values="value", aggfunc="first")
    table = table.reindex(columns=[m for m in _HEADLINE if m in table.columns])
    flat = table.reset_index()
    parts = ["# Summary\n", "Mean ± standard deviation over tracks.\n",
             flat.to_markdown(index=False) if len(flat) else "(no rows)"]
    for title, frame in (extra or {}).items():
        parts += [f"\n\n## {title}\n", frame.to_markdown(index=False)]
    (out_dir / "summary.md").write_text("\n".join(parts) + "\n", encoding="utf-8")
    latex = flat.to_latex(index=False, escape=True) if len(flat) else ""
    for title, frame in (extra or {}).items():
        latex += f"\n% {title}\n" + frame.to_latex(index=False, escape=True, float_format="%.3f")
    (out_dir / "summary.tex").write_text(latex, encoding="utf-8")
    return [out_dir / "summary.md", out_dir / "summary.tex", out_dir / "summary_full.csv"]


def package_versions() -> dict:
    """Versions of Python and every package that determines the numbers."""
    from importlib import metadata

    out = {"python": platform.python_version()}
    for name in ("mer_audiolime", "numpy", "scipy", "scikit-learn", "lime", "torch", "torchaudio", "librosa",
                 "openunmix", "mirdata", "pandas", "seaborn", "joblib", "dask"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


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
        from .runner import _dataset

        ds = _dataset(name, data_home, version)
        index_path = Path(getattr(ds, "index_path", "") or "")
        if index_path.is_file():
            from ..models.checkpoint import sha256_file

            info["index_path"] = str(index_path)
            info["index_sha256"] = sha256_file(index_path)
            info["index_version"] = json.loads(index_path.read_text()).get("version")
    except Exception as err:  # the manifest records what it could not read instead of failing the run
        info["index_error"] = f"{type(err).__name__}: {err}"
    return info


def _model_card(spec: str) -> dict | None:
    try:
        from ..models.zoo import list_models, model_card

        if spec in list_models():
            card = model_card(spec)
            return card.to_dict() if hasattr(card, "to_dict") else dict(card.__dict__)
    except Exception as err:
        return {"error": f"{type(err).__name__}: {err}"}
    return None


def write_run_outputs(run, *, suite, key, elapsed, outcomes, dataset, jobs, dask_scheduler) -> dict:
    """Write results.csv/.parquet, summary tables, figures and manifest.json for one evaluation run."""
    from ..plots import run_figures

    out = Path(run.out_dir)
    rows = run.rows
    rows.to_csv(out / "results.csv", index=False)
    rows.to_parquet(out / "results.parquet", index=False)
    summary = summarise(rows)
    tables = write_tables(summary, out)
    figures = run_figures(rows, out / "figures")
    manifest = {
        "created_unix": time.time(),
        "run": key,
        "suite": suite,
        "seeds": suite["explain"]["seeds"],
        "model_card": _model_card(key["model_spec"]),
        "dataset": _dataset_info(dataset),
        "package_versions": package_versions(),
        "git_commit": git_commit(),
        "execution": {"jobs": jobs, "dask_scheduler": dask_scheduler, "elapsed_s": round(elapsed, 3),
                      "computed_tracks": len(run.computed), "reused_tracks": len(run.reused),
                      "track_seconds": {o["track_id"]: round(o["seconds"], 3) for o in outcomes}},
        "n_tracks": int(rows["track_id"].nunique()) if len(rows) else 0,
        "failures": [{k: f[k] for k in ("track_id", "error", "message", "kind")} for f in run.failures],
        "outputs": {"rows": ["results.csv", "results.parquet"], "tables": [p.name for p in tables],
                    "figures": [str(p.relative_to(out)) for p in figures]},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")
    if len(rows) == 0 and run.failures:
        raise EvaluationError(
            f"every track failed ({len(run.failures)}); first failure: {run.failures[0]['error']}: "
            f"{run.failures[0]['message']} (details in {out / 'failures'})"
        )
    return manifest
