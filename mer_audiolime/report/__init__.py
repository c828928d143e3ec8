"""Self-contained HTML reports: one page per explanation (playable mix, stems and top-k components, heatmaps,
mid-level effects) and a summary page per evaluation or benchmark folder.

Pages embed their audio (16-bit PCM WAV) and figures (PNG) as ``data:`` URIs and load nothing from the
network.
"""

from importlib import import_module

#: Public name -> submodule (loaded on first use, so the command-line parser stays light).
_LAZY = {"explanation_html": "explanation", "write_explanation_html": "explanation",
         "primary_targets": "explanation", "write_run_report": "run", "RunReport": "run", "find_runs": "run"}

__all__ = list(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        return getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
