"""Which way is better for each number in the harness rows, and what kind of number it is.

The registered metrics declare the direction of their primary number (:mod:`.metrics.base`); the harness rows
(:mod:`.track_metrics`) carry some of their secondary numbers under their own names. This table maps each row
name to the metric that computes it, so tables and pages can put ↑ / ↓ beside every column, and a test checks
it against the registry.

Examples
--------
>>> metric_direction("relative_infidelity"), arrow("surrogate_r2"), arrow("error")
('lower', '↑', '')
"""

from __future__ import annotations

from .metrics import METRICS
from .tables import LEGACY_METRIC_NAMES

__all__ = ["ROW_METRICS", "metric_direction", "metric_category", "arrow"]

#: Row metric name -> (direction or None, category, registered metric that computes it or None). A direction
#: of None marks a signed number whose ideal is 0 (an error, a gap): neither larger nor smaller is better.
ROW_METRICS = {
    "surrogate_r2": ("higher", "fidelity", "surrogate_r2"),
    "norm_aopc_deletion_minus_random": ("higher", "fidelity", "deletion_insertion"),
    "norm_aopc_insertion_minus_random": ("higher", "fidelity", "deletion_insertion"),
    "norm_abc_minus_random": ("higher", "fidelity", "deletion_insertion"),
    "faithfulness_correlation": ("higher", "fidelity", "faithfulness_correlation"),
    "relative_infidelity": ("lower", "fidelity", "infidelity"),
    "jaccard_topk": ("higher", "stability", "top_k_jaccard"),
    "kendall_tau": ("higher", "stability", "kendall_tau"),
    "vsi": ("higher", "stability", "stability_indices"),
    "csi": ("higher", "stability", "stability_indices"),
    "error": (None, "model", None),
    "reconstruction_gap": (None, "model", "reconstruction_gap"),
}

_ARROWS = {"higher": "↑", "lower": "↓"}


def _registry() -> dict:
    return METRICS


def _today(name: str) -> str:
    return LEGACY_METRIC_NAMES.get(name, name)  # rows of older runs carry older names


def metric_direction(name: str) -> str | None:
    """``"higher"``, ``"lower"`` or None (a signed number, best at 0, or unknown) for a row or metric name."""
    name = _today(name)
    if name in ROW_METRICS:
        return ROW_METRICS[name][0]
    for cls in _registry().values():
        if name in (cls.name, cls.primary):
            return cls.direction
    return None


def metric_category(name: str) -> str:
    """``fidelity``, ``stability``, ``model`` (accuracy of the model itself) or ``other``."""
    name = _today(name)
    if name in ROW_METRICS:
        return ROW_METRICS[name][1]
    for cls in _registry().values():
        if name in (cls.name, cls.primary):
            return cls.category
    return "other"


def arrow(name: str) -> str:
    """``"↑"`` (higher is better), ``"↓"`` (lower is better) or ``""``."""
    return _ARROWS.get(metric_direction(name), "")
