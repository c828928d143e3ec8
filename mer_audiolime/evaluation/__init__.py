"""Evaluation of explanations: metrics (fidelity, stability, sanity, bias), the resumable runner, results and
the embedded synthetic benchmark."""

from .metrics import *  # noqa: F401,F403
from .metrics import __all__ as _metric_names
from .runner import ROW_COLUMNS, EvaluationRun, evaluate  # noqa: E402
from .suites import list_suites, load_suite  # noqa: E402

__all__ = list(_metric_names) + ["evaluate", "EvaluationRun", "ROW_COLUMNS", "load_suite", "list_suites"]
