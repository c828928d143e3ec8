"""Summary tables of a harness run from its tidy rows: headline metrics, convergence, trust warnings.

Rows written by older versions are read in today's layout (:func:`upgrade_rows`); seed-stability rows of
settings whose masks do not depend on the seed are left out (:func:`drop_exact_stability`), so no number that
cannot vary is printed. :func:`write_tables` writes ``summary.md``, ``summary.tex`` and ``summary_full.csv``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..fileio import atomic_write_text
from ..names import MIDLEVEL_NAMES
from .track_metrics import CONVERGENCE_METRIC

__all__ = ["LEGACY_METRIC_NAMES", "ATTRIBUTION_METRICS", "STABILITY", "HEADLINE", "EXACT", "upgrade_rows",
           "seed_independent", "drop_exact_stability", "summarise", "headline_table", "stability_setting",
           "convergence_table", "warning_table", "write_tables"]


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

