"""Control charts drawn as inline SVG: no script, no external file, readable without a browser plug-in.

A chart is a time axis of dates, the plotted statistic, the centre line and the limits
(which may step with n), a shaded baseline, an optional shaded incident window and a
marker on every signalled point.  Gaps (NaN) break the lines.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

__all__ = ["ChartSpec", "Window", "render_chart"]

W, H = 760, 246
LEFT, RIGHT, TOP, BOTTOM = 58, 14, 42, 30


@dataclass(frozen=True)
class Window:
    """A shaded stretch of days (inclusive), e.g. the baseline or an incident."""

    start: dt.date
    end: dt.date
    label: str
    css: str  # class of the shading: "baseline" or "incident"


@dataclass(frozen=True)
class ChartSpec:
    """What one chart shows; arrays are one value per date (NaN for no point)."""

    title: str
    dates: Sequence[dt.date]
    statistic: Sequence[float]
    center: Sequence[float]
    lcl: Sequence[float]
    ucl: Sequence[float]
    signals: Sequence[bool]
    y_label: str = ""
    windows: Sequence[Window] = field(default_factory=tuple)
    percent: bool = False
    better: Sequence[bool] = ()  # signals that the stream got better: drawn apart (hollow, green)


class _Scale:
    def __init__(self, spec: ChartSpec) -> None:
        self.d0 = min(spec.dates).toordinal()
        self.d1 = max(max(spec.dates).toordinal(), self.d0 + 1)
        values = [v for arr in (spec.statistic, spec.lcl, spec.ucl, spec.center) for v in arr if _ok(v)]
        lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
        pad = (hi - lo) * 0.08 or abs(hi) * 0.1 or 1.0
        self.y0, self.y1 = lo - pad, hi + pad

    def x(self, day: dt.date) -> float:
        return LEFT + (day.toordinal() - self.d0) / (self.d1 - self.d0) * (W - LEFT - RIGHT)

    def y(self, value: float) -> float:
        return TOP + (self.y1 - value) / (self.y1 - self.y0) * (H - TOP - BOTTOM)


def _ok(v: float) -> bool:
    return v is not None and math.isfinite(v)


def _polylines(scale: _Scale, dates: Sequence[dt.date], values: Sequence[float], css: str) -> str:
    """One polyline per run of finite values."""
    runs: list[list[str]] = [[]]
    for day, v in zip(dates, values, strict=True):
        if _ok(v):
            runs[-1].append(f"{scale.x(day):.1f},{scale.y(v):.1f}")
        elif runs[-1]:
            runs.append([])
    return "".join(f'<polyline class="{css}" points="{" ".join(r)}"/>' for r in runs if len(r) > 1) + "".join(
        f'<circle class="{css}" cx="{r[0].split(",")[0]}" cy="{r[0].split(",")[1]}" r="1.5"/>'
        for r in runs
        if len(r) == 1
    )


def _ticks(lo: float, hi: float, count: int = 4) -> list[float]:
    raw = (hi - lo) / count
    step = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    step *= next(m for m in (1, 2, 5, 10) if m * step >= raw)
    first = math.ceil(lo / step) * step
    return [first + k * step for k in range(count + 2) if first + k * step <= hi]


def _axes(scale: _Scale, spec: ChartSpec) -> str:
    parts = [f'<line class="axis" x1="{LEFT}" y1="{H - BOTTOM}" x2="{W - RIGHT}" y2="{H - BOTTOM}"/>']
    for v in _ticks(scale.y0, scale.y1):
        y = scale.y(v)
        label = f"{v * 100:.0f}%" if spec.percent else f"{v:.3g}"
        parts.append(
            f'<line class="grid" x1="{LEFT}" y1="{y:.1f}" x2="{W - RIGHT}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{LEFT - 6}" y="{y + 3:.1f}" text-anchor="end">{label}</text>'
        )
    first, last = min(spec.dates), max(spec.dates)
    day = dt.date(first.year, first.month, 1)
    while day <= last:
        if day >= first:
            x = scale.x(day)
            parts.append(
                f'<line class="grid" x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{H - BOTTOM}"/>'
                f'<text class="tick" x="{x:.1f}" y="{H - BOTTOM + 14}" text-anchor="middle">'
                f"{day:%b %Y}</text>"
            )
        day = dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)
    if spec.y_label:
        parts.append(f'<text class="ylabel" x="12" y="{TOP - 8}">{escape(spec.y_label)}</text>')
    return "".join(parts)


def _windows(scale: _Scale, spec: ChartSpec) -> str:
    out = []
    for w in spec.windows:
        x0 = scale.x(max(w.start, min(spec.dates)))
        x1 = scale.x(min(w.end + dt.timedelta(days=1), max(spec.dates)))
        if x1 > x0:
            out.append(
                f'<rect class="{w.css}" x="{x0:.1f}" y="{TOP}" width="{x1 - x0:.1f}" '
                f'height="{H - TOP - BOTTOM}"><title>{escape(w.label)}</title></rect>'
                f'<text class="wlabel {w.css}-label" x="{x0 + 3:.1f}" y="{TOP + 10}">'
                f"{escape(w.label)}</text>"
            )
    return "".join(out)


def _markers(scale: _Scale, spec: ChartSpec) -> str:
    out = []
    better = list(spec.better) or [False] * len(spec.dates)
    for day, v, flag, up in zip(spec.dates, spec.statistic, spec.signals, better, strict=True):
        if flag and _ok(v):
            css, what = ("better", "better") if up else ("signal", "worse")
            out.append(
                f'<circle class="{css}" cx="{scale.x(day):.1f}" cy="{scale.y(v):.1f}" r="4">'
                f"<title>{what} {day.isoformat()}</title></circle>"
            )
    return "".join(out)


def render_chart(spec: ChartSpec) -> str:
    """The chart as one ``<svg>`` element (a string), sized by CSS to its container."""
    if not spec.dates:
        return f'<svg class="chart" viewBox="0 0 {W} {H}" role="img"><text x="20" y="40">no data</text></svg>'
    scale = _Scale(spec)
    body = [
        _windows(scale, spec),
        _axes(scale, spec),
        _polylines(scale, spec.dates, spec.ucl, "limit"),
        _polylines(scale, spec.dates, spec.lcl, "limit"),
        _polylines(scale, spec.dates, spec.center, "center"),
        _polylines(scale, spec.dates, spec.statistic, "stat"),
        _markers(scale, spec),
        f'<text class="title" x="{LEFT}" y="14">{escape(spec.title)}</text>',
    ]
    return (
        f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{escape(spec.title)}" '
        f'xmlns="http://www.w3.org/2000/svg">{"".join(body)}</svg>'
    )
