"""One self-contained HTML report: inline CSS and inline SVG, no script, no external file.

Sections: the incidents table (when the caller knows incidents, as the demo does), the
weekly NPS chart, the control charts of every signalled stream, and the lifecycle table
(stages in order, owning silo, each stream's method and state).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path

import numpy as np

from gapwatch.domain.lifecycle import Lifecycle
from gapwatch.monitor.nps import NpsChart
from gapwatch.monitor.run import ALL_SEGMENTS, MonitorResult, StreamView
from gapwatch.monitor.summary import stream_label, stream_states
from gapwatch.report.style import CSS
from gapwatch.report.svg import ChartSpec, Window, render_chart

__all__ = ["IncidentLine", "render_report", "write_report"]

CHART_TITLES = {
    "p": "miss rate: p chart",
    "pprime": "miss rate: Laney p′ chart",
    "ewma": "mean normalised gap: EWMA",
}


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


def _after_baseline(view: StreamView) -> np.ndarray:
    end = view.baseline_end
    return np.array([end is not None and d > end for d in view.periods])


def _stream_figure(view: StreamView, incidents: Sequence[IncidentLine], method: str, state: str) -> str:
    windows: list[Window] = []
    if view.baseline_start and view.baseline_end:
        windows.append(Window(view.baseline_start, view.baseline_end, "baseline", "baseline"))
    windows += [
        Window(i.start, i.end, f"{i.id} ×{i.size:g}", "incident") for i in incidents if i.covers(view.key)
    ]
    after = _after_baseline(view)
    svgs = []
    for name, series in view.charts.items():
        spec = ChartSpec(
            title=CHART_TITLES.get(series.chart, series.chart),
            dates=view.periods,
            statistic=series.statistic.tolist(),
            center=series.center.tolist(),
            lcl=series.lcl.tolist(),
            ucl=series.ucl.tolist(),
            signals=(series.flags & after).tolist(),
            windows=windows,
            percent=name == "miss_rate",
            y_label="share missed" if name == "miss_rate" else "mean gap (0 = adequate, 1 = desired)",
        )
        svgs.append(render_chart(spec))
    caption = f"{escape(stream_label(view.key))} — {escape(method)} — {escape(state)}"
    return f'<figure class="stream"><figcaption>{caption}</figcaption>{"".join(svgs)}</figure>'


def _nps_figure(nps: NpsChart, incidents: Sequence[IncidentLine]) -> str:
    base = [w for w, b in zip(nps.weeks, nps.baseline, strict=True) if b]
    windows = [Window(base[0], base[-1] + dt.timedelta(days=6), "baseline", "baseline")] if base else []
    windows += [Window(i.start, i.end, i.id, "incident") for i in incidents]
    spec = ChartSpec(
        title=f"weekly end-of-journey NPS (limits ±{nps.L:g}σ from the baseline; ● = drop)",
        dates=nps.weeks,
        statistic=nps.nps.tolist(),
        center=[nps.center] * len(nps.weeks),
        lcl=nps.lcl.tolist(),
        ucl=nps.ucl.tolist(),
        signals=nps.drop.tolist(),
        windows=windows,
        y_label="NPS (points)",
    )
    answers = int(np.nansum(nps.n))
    return (
        f'<figure class="stream"><figcaption>NPS from {answers} survey answers, '
        f"median {float(np.nanmedian(nps.n)):.0f} a week, SE ≈ {float(np.nanmedian(nps.se)):.0f} points"
        f"</figcaption>{render_chart(spec)}</figure>"
    )


def _lifecycle_table(result: MonitorResult, lifecycle: Lifecycle) -> str:
    rows, last_stage = [], None
    for s in stream_states(result, lifecycle):
        stage = f"{escape(s.stage)}<br><small>{escape(s.silo)}</small>" if s.stage != last_stage else ""
        last_stage = s.stage
        css = {"signalled": "bad", "in control": "good"}.get(s.state, "thin")
        rows.append(
            f"<tr><td>{stage}</td><td>{escape(s.label)}</td><td>{s.events}</td>"
            f'<td>{escape(s.method)}</td><td class="{css}">{escape(s.describe())}</td>'
            f"<td>{s.signals}</td></tr>"
        )
    head = (
        "<tr><th>stage / silo</th><th>stream</th><th>events</th><th>method</th><th>state</th>"
        "<th>signals</th></tr>"
    )
    return f"<table>{head}{''.join(rows)}</table>"


def render_report(
    result: MonitorResult,
    lifecycle: Lifecycle,
    *,
    nps: NpsChart | None = None,
    incidents: Sequence[IncidentLine] = (),
    title: str = "gapwatch report",
    notes: Sequence[str] = (),
) -> str:
    """The whole report as one HTML string."""
    states = {(s.moment, s.segment, s.metric): s for s in stream_states(result, lifecycle)}
    signalled = [v for v in result.streams if result.signals_of(v.key)]
    signalled.sort(
        key=lambda v: (not any(i.covers(v.key) for i in incidents), -len(result.signals_of(v.key)))
    )
    figures = "".join(
        _stream_figure(v, incidents, states[v.key].method, states[v.key].describe()) for v in signalled
    )
    parts = [
        f"<h1>{escape(title)}</h1>",
        "".join(f'<p class="note">{escape(n)}</p>' for n in notes),
        (
            f"<h2>Incidents: during the fact vs after the fact</h2>{_incident_table(incidents)}"
            if incidents
            else ""
        ),
        f"<h2>After the fact: end-of-journey NPS</h2>{_nps_figure(nps, incidents)}" if nps else "",
        f"<h2>During the fact: signalled streams ({len(signalled)})</h2>{figures or '<p>No signals.</p>'}",
        f"<h2>The lifecycle</h2>{_lifecycle_table(result, lifecycle)}",
    ]
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{CSS}</style></head><body>{''.join(parts)}</body></html>\n"
    )


def write_report(path: Path, html: str) -> Path:
    """Write the report; returns its absolute path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path.resolve()
