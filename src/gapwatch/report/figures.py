"""Every chart that judged a stream, as data: what the web pages and the static report both draw.

A :class:`Figure` is one stream's (or the NPS's) panels on one time axis: the miss-rate chart
(p or Laney p′), the EWMA of the mean normalised gap and, for a stream judged per experience,
the Bernoulli CUSUM over its events. Each panel carries its statistic, centre line and limits
(which may step with n), which points are provisional (their period is still open) and one
:class:`Mark` per signal, with its direction (worse or better) and the rule that fired.

Built from what the workspace has stored (``stream_periods`` and ``signals``, which the live
service keeps current and ``gapwatch detect`` replaces); the CUSUM trace is recomputed from the
stream's experiences with the monitor's own functions (:mod:`gapwatch.monitor.events`),
so it is the chart that raised the signals. ``report/svg.py`` draws a figure.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gapwatch.config.schema import DetectionSection, WorkspaceConfig
from gapwatch.domain.lifecycle import Lifecycle
from gapwatch.live.read import StreamChart, stream_chart
from gapwatch.monitor.arrays import ALL_SEGMENTS
from gapwatch.monitor.nps import NpsChart, compute_nps
from gapwatch.monitor.run import closed_through, horizon
from gapwatch.report.figure_events import event_panel, limit_of_store
from gapwatch.report.figure_model import Figure, Mark, Panel, Window, ordinal
from gapwatch.sqlport import Sql, rows

__all__ = [
    "Figure",
    "FigureContext",
    "Mark",
    "Panel",
    "Window",
    "batch_context",
    "live_context",
    "nps_figure",
    "stream_figure",
    "workspace_nps",
]

RULES = {
    "we1": "a point beyond a 3σ-type limit",
    "ewma": "the EWMA beyond its limit",
    "bcusum": "the CUSUM reached its decision limit h",
    "drop": "a week below its lower limit",
}
CHART_NAMES = {"p": "miss rate: p chart", "pprime": "miss rate: Laney p′ chart", "ewma": "mean gap: EWMA"}


@dataclass(frozen=True)
class FigureContext:
    """What a figure needs beyond the stored tables: the detection settings in force.

    ``L`` is the workspace's limit multiplier (the live service holds it; a batch computes it,
    :func:`gapwatch.report.figure_events.limit_of_store`); ``first``/``last`` the workspace's
    calendar; ``closed_through`` the last closed day (later points are provisional).
    """

    detection: DetectionSection
    L: float
    first: dt.date | None
    last: dt.date | None
    closed_through: dt.date | None


def _f(x: Any) -> float:
    return float(x) if x is not None and math.isfinite(float(x)) else math.nan


def _period_end(start: dt.date, resolution: str | None) -> dt.date:
    return start + dt.timedelta(days=6 if resolution == "week" else 0)


def _signal_marks(chart: StreamChart, names: tuple[str, ...], x_of: dict[dt.date, float]) -> list[Mark]:
    marks = []
    for s in chart.signals:
        if s["chart"] not in names:
            continue
        start = s["period_start"] or s["period"]
        x = x_of.get(start)
        if x is None:
            continue
        rule = str(s["rule"])
        marks.append(
            Mark(
                x=x,
                y=_f(s["statistic"]),
                direction=str(s["direction"] or "worse"),
                rule=rule,
                label=f"{s['period']:%Y-%m-%d}: {s['direction'] or 'worse'} signal, {RULES.get(rule, rule)}"
                + (" (provisional: the period is still open)" if s["provisional"] else ""),
                provisional=bool(s["provisional"]),
            )
        )
    return marks


def _period_panel(chart: StreamChart, prefix: str, ctx: FigureContext) -> Panel | None:
    name = chart.p_chart if prefix == "p" else chart.ewma_chart
    pts = [p for p in chart.points if (p.p if prefix == "p" else p.ewma) is not None]
    if name is None or not pts:
        return None
    resolution = chart.stream.resolution
    x_of = {p.period: float(ordinal(p.period)) for p in pts}
    values = [(p.p if prefix == "p" else p.ewma) or {} for p in pts]
    closed = ctx.closed_through
    miss = prefix == "p"
    hover = []
    for p, v in zip(pts, values, strict=True):
        when = f"week of {p.period:%Y-%m-%d}" if resolution == "week" else f"{p.period:%Y-%m-%d}"
        stat = _f(v.get("statistic"))
        shown = f"{stat:.1%} missed" if miss else f"mean gap {stat:.3f}"
        hover.append(
            f"{when}: {shown} (n = {p.n}, missed {p.missed}); centre {_fmt(v.get('center'), miss)}, "
            f"limits {_fmt(v.get('lcl'), miss)} – {_fmt(v.get('ucl'), miss)}"
        )
    return Panel(
        kind="miss_rate" if miss else "mean_gap",
        title=CHART_NAMES.get(name, name) + (" (weekly)" if resolution == "week" else " (daily)"),
        y_label="share of experiences missed" if miss else "mean normalised gap (0 adequate, 1 desired)",
        x=[x_of[p.period] for p in pts],
        statistic=[_f(v.get("statistic")) for v in values],
        center=[_f(v.get("center")) for v in values],
        lcl=[_f(v.get("lcl")) for v in values],
        ucl=[_f(v.get("ucl")) for v in values],
        provisional=[closed is not None and _period_end(p.period, resolution) > closed for p in pts],
        marks=_signal_marks(chart, (name,) if miss else ("ewma",), x_of),
        hover=hover,
        percent=miss,
        worse_is_high=miss,
        note=f"limits ±{ctx.L:.2f}σ for the workspace's false-alarm budget",
    )


def _fmt(v: Any, percent: bool) -> str:
    x = _f(v)
    if not math.isfinite(x):
        return "–"
    return f"{x:.1%}" if percent else f"{x:.3f}"


def _baseline(chart: StreamChart) -> list[Window]:
    days = [p.period for p in chart.points if p.baseline]
    if not days:
        return []
    end = _period_end(days[-1], chart.stream.resolution)
    return [Window(ordinal(days[0]), ordinal(end) + 1.0, "baseline (limits estimated here)", "baseline")]


def _case_windows(con: Sql, key: tuple[str, str, str]) -> list[Window]:
    # On the chart's time axis a case runs from its first alert's period (a replay raises alerts
    # long after the events) to its closing (or on).
    found = rows(
        con,
        "SELECT c.id, c.state, min(a.period) AS first, c.closed_at, max(a.period) AS last FROM cases c"
        " JOIN alerts a ON a.case_id = c.id WHERE c.moment = ? AND c.segment = ? AND c.metric = ?"
        " GROUP BY c.id, c.state, c.closed_at ORDER BY first",
        list(key),
    )
    out = []
    for r in found:
        start = r["first"]
        end = max(r["closed_at"].date(), r["last"]) if r["closed_at"] else None
        label = f"case {r['id']} ({r['state']})"
        out.append(Window(ordinal(start), ordinal(end) + 1.0 if end else math.inf, label, "case"))
    return out


def stream_figure(
    con: Sql,
    lifecycle: Lifecycle,
    ctx: FigureContext,
    stream_id: str,
    *,
    since: dt.date | None = None,
    windows: Sequence[Window] = (),
    with_cases: bool = True,
) -> Figure:
    """Every chart of one stream (raises ``StreamNotFound``), on one time axis from ``since`` on."""
    chart = stream_chart(con, lifecycle, stream_id, since=since)
    s = chart.stream
    key = (s.moment, s.segment, s.metric)
    panels = [p for p in (_period_panel(chart, "p", ctx), _period_panel(chart, "ewma", ctx)) if p]
    if s.method.startswith("per-event"):
        events = event_panel(con, key, ctx.detection, ctx.L, ctx.first, ctx.last, since=since)
        if events is not None:
            panels.insert(0, events)
    bands = [*_baseline(chart), *windows]
    has_cases = with_cases and _has_cases(con)
    if has_cases:
        bands += _case_windows(con, key)
    label = f"{s.moment} / {'all segments' if s.segment == ALL_SEGMENTS else s.segment} / {s.metric}"
    state = s.state + (f" since {s.since:%Y-%m-%d}" if s.since else "")
    return Figure(
        id=s.id,
        title=label,
        subtitle=f"{s.stage or '?'} · {s.silo or '?'} · {s.method} · {state}",
        panels=panels,
        windows=bands,
        span=_span(panels, since),
    )


def _has_cases(con: Sql) -> bool:
    found = rows(con, "SELECT 1 FROM information_schema.tables WHERE table_name IN ('cases', 'alerts')")
    return len(found) == 2


def _span(panels: Sequence[Panel], since: dt.date | None) -> tuple[float, float]:
    xs = [x for p in panels for x in p.x]
    if not xs:
        day = float(ordinal(since or dt.date.today()))
        return day, day + 1.0
    lo, hi = min(xs), max(xs) + 1.0
    pad = max((hi - lo) * 0.01, 0.5)  # first and last points clear of the axes
    return lo - pad, hi + pad


def nps_figure(nps: NpsChart, windows: Sequence[Window] = ()) -> Figure:
    """The after-the-fact view: weekly end-of-journey NPS with limits from its baseline weeks."""
    x = [float(ordinal(w)) + 3.5 for w in nps.weeks]
    marks = [
        Mark(xi, float(v), "worse", "drop", f"week of {w:%Y-%m-%d}: NPS {v:.0f}, {RULES['drop']}", False)
        for xi, w, v, d in zip(x, nps.weeks, nps.nps, nps.drop, strict=True)
        if d
    ]
    base = [w for w, b in zip(nps.weeks, nps.baseline, strict=True) if b]
    bands = [Window(ordinal(base[0]), ordinal(base[-1]) + 7.0, "baseline weeks", "baseline")] if base else []
    hover = [
        f"week of {w:%Y-%m-%d}: NPS {v:.0f} ± {se:.0f} (n = {n:.0f}); limits {lo:.0f} – {hi:.0f}"
        for w, v, se, n, lo, hi in zip(nps.weeks, nps.nps, nps.se, nps.n, nps.lcl, nps.ucl, strict=True)
    ]
    panel = Panel(
        kind="nps",
        title=f"weekly end-of-journey NPS (limits ±{nps.L:g}σ from the baseline weeks)",
        y_label="NPS (points, −100 to 100)",
        x=x,
        statistic=[float(v) for v in nps.nps],
        center=[nps.center] * len(x),
        lcl=[float(v) for v in nps.lcl],
        ucl=[float(v) for v in nps.ucl],
        provisional=[False] * len(x),
        marks=marks,
        hover=hover,
        worse_is_high=False,
    )
    answers = int(np.nansum(nps.n))
    median_n = float(np.nanmedian(nps.n)) if len(nps.n) else 0.0
    median_se = float(np.nanmedian(nps.se)) if len(nps.se) else 0.0
    return Figure(
        id="nps",
        title="End-of-journey NPS, week by week",
        subtitle=f"{answers:,} survey answers, median {median_n:.0f} a week, SE ≈ {median_se:.0f} points",
        panels=[panel],
        windows=[*bands, *windows],
        span=(min(x) - 3.5, max(x) + 3.5) if x else (0.0, 1.0),
    )


def live_context(live: Any, config: WorkspaceConfig) -> FigureContext:
    """The figure context the live service holds (:class:`~gapwatch.service.live.LiveMonitor`)."""
    return FigureContext(
        config.detection, live.L, live.book.first_day, live.book.last_day, live.closed_through
    )


def batch_context(reader: Sql, config: WorkspaceConfig, clock: str = "wall") -> FigureContext:
    """The figure context of a store no live service holds (a report): L and calendar recomputed."""
    L, first, last = limit_of_store(reader, config.detection)
    stored = horizon(reader)
    closed = closed_through(
        stored["last_event"], config.workspace.timezone, "event" if clock == "event" else "wall", None
    )
    return FigureContext(config.detection, L, first, last, closed)


def workspace_nps(reader: Sql, config: WorkspaceConfig, ctx: FigureContext) -> NpsChart | None:
    """The weekly NPS over the workspace's calendar (None without survey answers)."""
    if ctx.first is None:
        return None
    return compute_nps(reader, ctx.first, config.detection.baseline_days, last_day=ctx.last)
