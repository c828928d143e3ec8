"""Seaborn figures from tidy harness rows (each saved as PNG and PDF)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["run_figures", "bias_figure", "save", "themed_pyplot", "RUN_FIGURES"]

STABILITY = ("jaccard_topk", "kendall_tau", "vsi", "csi")
FIDELITY = ("surrogate_r2", "faithfulness_correlation", "norm_aopc_deletion_minus_random",
            "norm_aopc_insertion_minus_random", "norm_abc_minus_random")
CURVES = ("norm_deletion_curve", "norm_insertion_curve", "norm_random_deletion_curve",
          "norm_random_insertion_curve")
CONVERGENCE = "convergence_rel_error"
#: Names of the figures :func:`run_figures` may write.
RUN_FIGURES = ("stem_weights", "fidelity", "stability", "deletion_insertion_curves", "randomisation",
               "convergence")


def themed_pyplot():
    """``(matplotlib.pyplot, seaborn)`` on the non-interactive Agg backend with the package's seaborn theme.

    Every figure of the package (these run figures and the report's) is drawn after this call, so they
    share one look. matplotlib and seaborn load here, not when this module is imported.

    Returns
    -------
    tuple
        ``(plt, sns)``.

    Examples
    --------
    >>> plt, sns = themed_pyplot()
    >>> fig, ax = plt.subplots()
    >>> plt.close(fig)
    """
    import matplotlib  # lazy: matplotlib and seaborn load only when a figure is drawn

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="paper")
    return plt, sns


def save(fig, folder, name) -> list:
    """Write ``<name>.png`` (150 dpi) and ``<name>.pdf``; close the figure."""
    import matplotlib.pyplot as plt

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for ext in ("png", "pdf"):
        path = folder / f"{name}.{ext}"
        fig.savefig(path, dpi=150, bbox_inches="tight", metadata={"CreationDate": None} if ext == "pdf" else None)
        paths.append(path)
    plt.close(fig)
    return paths


#: Panels per row of a faceted figure: three 2.6-inch panels are about 11 inches (1650 px at 150 dpi), the
#: width a report page shows without shrinking the text out of reach.
MAX_PANELS_PER_ROW = 3


def _wrap(n_panels: int) -> int:
    """Panels per row: at most :data:`MAX_PANELS_PER_ROW`, balanced (4 panels -> 2 x 2, 5 -> 3 + 2)."""
    if n_panels <= MAX_PANELS_PER_ROW:
        return max(1, n_panels)
    rows = -(-n_panels // MAX_PANELS_PER_ROW)
    return -(-n_panels // rows)


def _legend_on_top(g) -> None:
    """Move a facet grid's legend above the panels, so it adds no width (figures fit a report page)."""
    import seaborn as sns

    if g.legend is not None:
        n = len(g.legend.get_texts())
        sns.move_legend(g, "lower center", bbox_to_anchor=(0.5, 1.0), ncol=min(n, 4), frameon=False,
                        title=None)


def _stem(component: str) -> str:
    return component.split("@", 1)[0]


def run_figures(rows: pd.DataFrame, folder) -> list:
    """Every figure the rows allow: stem weights, fidelity, stability, curves, convergence, randomisation.

    Figures show what the rows hold: pass rows without seed-stability numbers of settings whose masks do
    not depend on the seed (the evaluation layer filters them), and no stability figure is drawn then.
    """
    if rows.empty:
        return []
    plt, sns = themed_pyplot()
    paths = []
    weights = rows[(rows["metric"] == "weight") & (rows["component"] != "")].copy()
    if len(weights):
        weights["stem"] = weights["component"].map(_stem)
        per = weights.groupby(["model", "target", "track_id", "stem", "seed"], as_index=False)["value"].sum()
        targets = list(dict.fromkeys(per["target"]))
        g = sns.catplot(data=per, x="stem", y="value", hue="model", col="target",
                        col_wrap=_wrap(len(targets)), kind="box", sharey=False, height=2.6, aspect=1.3,
                        showfliers=False)
        g.set_axis_labels("stem", "attribution")
        _legend_on_top(g)
        g.figure.suptitle("Attribution per stem (summed over segments)", y=1.08)
        paths += save(g.figure, folder, "stem_weights")
    for title, names, fname in (("Fidelity", FIDELITY, "fidelity"), ("Stability across seeds", STABILITY,
                                                                      "stability")):
        sub = rows[rows["metric"].isin(names) & (rows["step"] < 0)]
        if len(sub):
            sub = sub.groupby(["model", "target", "metric", "track_id"], as_index=False)["value"].mean()
            n = sub["metric"].nunique()
            g = sns.catplot(data=sub, x="target", y="value", hue="model", col="metric", kind="box", sharey=False,
                            col_wrap=_wrap(n), height=2.6, aspect=1.4, showfliers=False)
            for ax in g.axes.flat:  # every panel names its targets (wrapped grids hide inner tick labels)
                ax.tick_params(axis="x", labelbottom=True, labelrotation=45)
                for label in ax.get_xticklabels():
                    label.set_horizontalalignment("right")
            g.set_titles("{col_name}")
            g.tight_layout()
            _legend_on_top(g)
            g.figure.suptitle(title, y=1.08)
            paths += save(g.figure, folder, fname)
    curves = rows[rows["metric"].isin(CURVES) & (rows["step"] >= 0)]
    if len(curves):
        g = sns.relplot(data=curves, x="step", y="value", hue="metric", col="target",
                        col_wrap=_wrap(curves["target"].nunique()), kind="line",
                        errorbar=("ci", 95), height=2.6, aspect=1.3, facet_kws={"sharey": False})
        g.set_axis_labels("components removed / inserted", "normalised output (f - f(silence)) / R")
        _legend_on_top(g)
        paths += save(g.figure, folder, "deletion_insertion_curves")
    conv = rows[(rows["metric"] == CONVERGENCE) & (rows["step"] >= 0)]
    if len(conv):
        conv = conv.groupby(["model", "track_id", "step"], as_index=False)["value"].median()
        fig, ax = plt.subplots(figsize=(4.6, 3.2))
        sns.lineplot(data=conv, x="step", y="value", hue="model", marker="o", errorbar=("pi", 50), ax=ax)
        ax.set(xscale="log", yscale="log", xlabel="N sampled rows",
               ylabel="relative error to the enumerated LIME")
        ax.set_title("Convergence of LIME weights with N (median, IQR over tracks)")
        paths += save(fig, folder, "convergence")
    rand = rows[rows["metric"].str.startswith("randomisation") & (rows["step"] >= 0)]
    if len(rand):
        g = sns.relplot(data=rand, x="step", y="value", hue="target", col="metric", kind="line", marker="o",
                        col_wrap=_wrap(rand["metric"].nunique()), height=2.6, aspect=1.3)
        g.set_axis_labels("layers randomised (from the top)", "Spearman similarity")
        _legend_on_top(g)
        paths += save(g.figure, folder, "randomisation")
    return paths


def bias_figure(scores: pd.DataFrame, folder, *, shortcut_stem: str, target: str) -> list:
    """Bias panels: the shortcut stem's attribution per model and clip, and its rank-1 share per model."""
    if scores.empty:
        return []
    plt, sns = themed_pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    sns.stripplot(data=scores, x="model", y="shortcut_weight", ax=axes[0], size=3)
    axes[0].axhline(0, color="0.5", lw=0.8)
    axes[0].set_title(f"attribution of '{shortcut_stem}' to {target} (clips with {shortcut_stem})")
    axes[0].tick_params(axis="x", rotation=20)
    share = scores.groupby("model", as_index=False)["shortcut_top"].mean()
    sns.barplot(data=share, x="model", y="shortcut_top", ax=axes[1], color="C1")
    axes[1].set_ylim(0, 1)
    axes[1].set_ylabel("share of clips with the shortcut ranked first")
    axes[1].set_title("rank-1 share")
    axes[1].tick_params(axis="x", rotation=20)
    fig.tight_layout()
    return save(fig, folder, "bias")
