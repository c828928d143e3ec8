"""The report's seaborn figures, returned as embedded PNG data URIs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..plots import themed_pyplot  # one theme for every figure of the package
from ._media import png_data_uri

__all__ = ["heatmap_uri", "effects_uri"]


def heatmap_uri(matrix: pd.DataFrame, *, title: str, row_label: str = "stem") -> str:
    """Stem x segment attribution heatmap (diverging, centred on 0) as a PNG data URI.

    Parameters
    ----------
    matrix : pd.DataFrame, shape (stems, segments)
        :meth:`Explanation.stem_segment_matrix` of one target (a component without a segment, such as a
        time x frequency grid's residual, sits in column ``-1``, shown as "all").
    title : str
    row_label : str
        Axis label of the rows (``"stem"``, or ``"band"`` for a time x frequency grid).
    """
    matrix = matrix.rename(columns={-1: "all"})
    plt, sns = themed_pyplot()
    n_stems, n_seg = matrix.shape
    fig, ax = plt.subplots(figsize=(min(1.4 + 0.62 * n_seg, 12), 0.9 + 0.42 * n_stems))
    values = matrix.to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    lim = float(np.max(np.abs(finite))) if finite.size else 1.0
    lim = lim if lim > 0 else 1.0
    sns.heatmap(matrix, ax=ax, cmap="RdBu_r", center=0.0, vmin=-lim, vmax=lim, annot=n_seg <= 12,
                fmt=".2g", annot_kws={"size": 7}, linewidths=0.5, linecolor="white",
                cbar_kws={"label": "attribution"})
    ax.set_xlabel("time segment")
    ax.set_ylabel(row_label)
    ax.set_title(title)
    ax.tick_params(axis="y", rotation=0)
    return png_data_uri(fig)


def effects_uri(effects: pd.DataFrame, *, title: str = "Mid-level effects  W[i, j] * m[j]") -> str:
    """Grouped bars of the mid-level effects (emotion x mid-level feature) as a PNG data URI."""
    plt, sns = themed_pyplot()
    tidy = effects.rename_axis(index="emotion", columns="feature").stack().rename("effect").reset_index()
    fig, ax = plt.subplots(figsize=(max(5.0, 0.9 * effects.shape[1] + 2), 3.0))
    sns.barplot(data=tidy, x="feature", y="effect", hue="emotion", ax=ax)
    ax.axhline(0, color="0.4", lw=0.8)
    ax.set_xlabel("mid-level feature")
    ax.set_ylabel("effect on the emotion")
    ax.set_title(title)
    ax.tick_params(axis="x", rotation=25)
    return png_data_uri(fig)
