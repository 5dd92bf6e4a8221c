"""The self-contained HTML report: inline SVG control charts, inline CSS, no script."""

from __future__ import annotations

from gapwatch.report.html import IncidentLine, render_report, write_report
from gapwatch.report.svg import ChartSpec, Window, render_chart

__all__ = ["ChartSpec", "IncidentLine", "Window", "render_chart", "render_report", "write_report"]
