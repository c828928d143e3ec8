"""Self-contained HTML reports: one page per explanation (playable mix, stems and top-k components, heatmaps,
mid-level effects) and a summary page per evaluation or benchmark folder.

Pages embed their audio (16-bit PCM WAV) and figures (PNG) as ``data:`` URIs and load nothing from the
network.
"""

from .explanation import explanation_html, primary_targets, write_explanation_html
from .run import RunReport, find_runs, write_run_report

__all__ = ["explanation_html", "write_explanation_html", "primary_targets", "write_run_report", "RunReport",
           "find_runs"]
