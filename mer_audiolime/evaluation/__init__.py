"""Evaluation of explanations: metrics (fidelity, stability, sanity, bias), the resumable runner, results and
the embedded synthetic benchmark.

Names load on first use, so importing a submodule such as the command-line parser stays light.
"""

from importlib import import_module

_RUNNER = ("evaluate", "explain_track", "EvaluationRun", "ROW_COLUMNS")
_SUITES = ("load_suite", "list_suites")


def __getattr__(name):
    if name == "__all__":
        return list(import_module(f"{__name__}.metrics").__all__) + list(_RUNNER) + list(_SUITES)
    if name in _RUNNER:
        return getattr(import_module(f"{__name__}.runner"), name)
    if name in _SUITES:
        return getattr(import_module(f"{__name__}.suites"), name)
    if not name.startswith("_"):
        metrics = import_module(f"{__name__}.metrics")
        if name in metrics.__all__:
            return getattr(metrics, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
