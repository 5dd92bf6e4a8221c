"""The self-contained HTML report: inline SVG control charts, inline CSS, no script."""

from __future__ import annotations

from gapwatch.report.html import (
    IncidentLine,
    NothingDetected,
    render_report,
    report_of_workspace,
    workspace_report,
    write_report,
)
from gapwatch.report.svg import render_figure, render_panel, render_sparkline

__all__ = [
    "IncidentLine",
    "NothingDetected",
    "render_figure",
    "render_panel",
    "render_report",
    "render_sparkline",
    "report_of_workspace",
    "workspace_report",
    "write_report",
]
