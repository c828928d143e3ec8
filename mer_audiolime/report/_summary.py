"""Summary tables that fit the page: the headline metrics split by kind (fidelity, stability, the model's own
accuracy), each column marked ↑ (higher is better) or ↓ (lower is better)."""

from __future__ import annotations

import pandas as pd

from ..evaluation.directions import arrow, metric_category
from . import _html as h

__all__ = ["summary_tables", "LEGEND"]

#: Categories in page order, with their headings.
_GROUPS = (("fidelity", "Fidelity"), ("stability", "Stability across seeds"),
           ("model", "The model's accuracy"), ("other", "Other"))
ZWSP = "\u200b"
LEGEND = ("↑ higher is better, ↓ lower is better; error and reconstruction gap are signed (best at 0). "
          "Cells: mean ± sd over tracks.")


def summary_tables(head: pd.DataFrame, *, keys=("model", "target", "attribution")) -> str:
    """HTML of the headline table split into one table per metric category, with arrowed headers.

    Parameters
    ----------
    head : pd.DataFrame
        One row per model and target (and attribution source), key columns first, one column per metric.
    keys : sequence of str
        Columns that identify a row (kept in every table when present).
    """
    if head is None or head.empty:
        return "<p>(no rows)</p>"
    key_cols = [c for c in head.columns if c in keys]
    metrics = [c for c in head.columns if c not in key_cols]
    parts = []
    for category, title in _GROUPS:
        cols = [m for m in metrics if metric_category(m) == category]
        if not cols:
            continue
        # a zero-width space after each underscore lets long metric names wrap in narrow columns
        frame = head[key_cols + cols].rename(
            columns={m: f"{m.replace('_', '_' + ZWSP)} {arrow(m)}".strip() for m in cols})
        parts.append(h.section(title, h.table(frame), level=3))
    return "".join(parts) + f'<p class="sub">{h.esc(LEGEND)}</p>'
