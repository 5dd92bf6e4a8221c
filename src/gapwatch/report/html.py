"""One self-contained HTML report of a workspace: inline CSS and inline SVG, no script, no external file.

Sections: the incidents table (when the caller knows incidents, as the demo does), the weekly
NPS chart, every chart of every signalled stream (the same figures the web app draws, from
what the workspace has stored: :mod:`gapwatch.report.figures`), and the lifecycle table
(stages in order, owning silo, each stream's method and state).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from gapwatch.config.schema import WorkspaceConfig
from gapwatch.domain.lifecycle import Lifecycle
from gapwatch.live.read import StreamSummary, list_streams
from gapwatch.monitor.arrays import ALL_SEGMENTS
from gapwatch.monitor.nps import NpsChart
from gapwatch.report.figure_model import Window, ordinal
from gapwatch.report.figures import FigureContext, nps_figure, stream_figure
from gapwatch.report.style import CSS
from gapwatch.report.svg import render_figure

__all__ = [
    "IncidentLine",
    "NothingDetected",
    "render_report",
    "report_of_workspace",
    "workspace_report",
    "write_report",
]


@dataclass(frozen=True)
class IncidentLine:
    """A known incident and when each view first showed it."""

    id: str
    moment: str
    segment: str
    metric: str
    size: float
    start: dt.date
    end: dt.date
    detected: dt.date | None
    detected_by: str  # the stream label whose signal counted
    delay_days: int | None
    nps_day: dt.date | None

    def covers(self, key: tuple[str, str, str]) -> bool:
        moment, segment, metric = key
        everywhere = self.segment == "all"  # a systemic incident (or a moment without segments)
        return (
            moment == self.moment
            and metric == self.metric
            and (everywhere or segment in (self.segment, ALL_SEGMENTS))
        )

    def window(self) -> Window:
        return Window(ordinal(self.start), ordinal(self.end) + 1.0, f"{self.id} ×{self.size:g}", "incident")


def _d(day: dt.date | None) -> str:
    return day.isoformat() if day else "never"


def _incident_table(incidents: Sequence[IncidentLine]) -> str:
    head = (
        "<tr><th>incident</th><th>stream</th><th>size</th><th>start</th><th>end</th>"
        "<th>gapwatch signalled</th><th>delay (days)</th><th>NPS showed it</th></tr>"
    )
    rows = "".join(
        f"<tr><td>{escape(i.id)}</td><td>{escape(f'{i.moment}/{i.segment}/{i.metric}')}</td>"
        f"<td>×{i.size:g}</td><td>{_d(i.start)}</td><td>{_d(i.end)}</td>"
        f'<td class="{"good" if i.detected else "bad"}">{_d(i.detected)}'
        f"{'<br><small>on ' + escape(i.detected_by) + '</small>' if i.detected_by else ''}</td>"
        f"<td>{'' if i.delay_days is None else i.delay_days}</td>"
        f'<td class="{"good" if i.nps_day else "bad"}">{_d(i.nps_day)}</td></tr>'
        for i in incidents
    )
    return f"<table>{head}{rows}</table>"


def _label(s: StreamSummary) -> str:
    return f"{s.moment}/{'(all segments)' if s.segment == ALL_SEGMENTS else s.segment}/{s.metric}"


def _lifecycle_table(streams: Sequence[StreamSummary]) -> str:
    rows, last_stage = [], None
    for s in streams:
        stage = (
            f"{escape(s.stage or '?')}<br><small>{escape(s.silo or '?')}</small>"
            if s.stage != last_stage
            else ""
        )
        last_stage = s.stage
        css = {"signalled": "bad", "in control": "good"}.get(s.state, "thin")
        state = s.state + (f" since {s.since.isoformat()}" if s.since else "")
        rows.append(
            f"<tr><td>{stage}</td><td>{escape(_label(s))}</td><td>{s.events}</td>"
            f'<td>{escape(s.method)}</td><td class="{css}">{escape(state)}</td><td>{s.signals}</td></tr>'
        )
    head = (
        "<tr><th>stage / silo</th><th>stream</th><th>events</th><th>method</th><th>state</th>"
        "<th>signals</th></tr>"
    )
    return f"<table>{head}{''.join(rows)}</table>"


def render_report(
    con: Any,
    config: WorkspaceConfig,
    lifecycle: Lifecycle,
    ctx: FigureContext,
    *,
    nps: NpsChart | None = None,
    incidents: Sequence[IncidentLine] = (),
    title: str = "gapwatch report",
    notes: Sequence[str] = (),
) -> str:
    """The whole report of the workspace whose store ``con`` reads, as one HTML string."""
    del config  # the figures read the stored tables; kept for the callers' symmetry with the web app
    streams = list_streams(con, lifecycle)
    signalled = [s for s in streams if s.signals]
    covered = {s.id: [i for i in incidents if i.covers((s.moment, s.segment, s.metric))] for s in signalled}
    signalled.sort(key=lambda s: (not covered[s.id], -s.signals))
    figures = "".join(
        render_figure(
            stream_figure(con, lifecycle, ctx, s.id, windows=[i.window() for i in covered[s.id]]),
            heading="h3",
        )
        for s in signalled
    )
    nps_html = render_figure(nps_figure(nps, [i.window() for i in incidents]), heading="h3") if nps else ""
    parts = [
        f"<h1>{escape(title)}</h1>",
        "".join(f'<p class="note">{escape(n)}</p>' for n in notes),
        (
            f"<h2>Incidents: during the fact vs after the fact</h2>{_incident_table(incidents)}"
            if incidents
            else ""
        ),
        f"<h2>After the fact: end-of-journey NPS</h2>{nps_html}" if nps else "",
        f"<h2>During the fact: signalled streams ({len(signalled)})</h2>{figures or '<p>No signals.</p>'}",
        f"<h2>The lifecycle</h2>{_lifecycle_table(streams)}",
    ]
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{escape(title)}</title>'
        f"<style>{CSS}</style></head><body>{''.join(parts)}</body></html>\n"
    )


def write_report(path: Path, html: str) -> Path:
    """Write the report; returns its absolute path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path.resolve()


def workspace_report(
    con: Any, config: WorkspaceConfig, lifecycle: Lifecycle, ctx: FigureContext, title: str
) -> str:
    """The report of any workspace: its NPS (when it has survey answers) and every signalled stream."""
    from gapwatch.report.figures import workspace_nps

    return render_report(con, config, lifecycle, ctx, nps=workspace_nps(con, config, ctx), title=title)


class NothingDetected(LookupError):
    """The workspace has no stored detection yet (``gapwatch detect`` writes it)."""


def report_of_workspace(workspace: Any, clock: str = "wall") -> str:
    """The report of an open :class:`~gapwatch.workspace.Workspace` no server holds.

    The limit multiplier and the calendar are recomputed from the store (``batch_context``);
    raises :class:`NothingDetected` before any detection.
    """
    from gapwatch.report.figures import batch_context
    from gapwatch.sqlport import has_tables

    cur = workspace.store.reader()
    try:
        if not has_tables(cur, "stream_periods", "signals"):
            raise NothingDetected(f"nothing detected in {workspace.root} yet")
        ctx = batch_context(cur, workspace.config, clock)
        title = f"gapwatch report: {workspace.config.workspace.name}"
        return workspace_report(cur, workspace.config, workspace.lifecycle, ctx, title)
    finally:
        cur.close()
