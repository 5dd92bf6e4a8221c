"""Estimates with their intervals, drawn as inline SVG (a dot-and-whisker chart, no script).

Rows come in groups (a quality dimension, say); each row is one series' estimate with its 95 %
interval. A series has its own shape as well as its colour (never colour alone); a *strong*
estimate (a significant gap) is drawn filled, a weak one hollow, and a row may carry a word in
the right-hand column (``widening``). A reference line (0 for a gap) and round ticks sit on a
shared axis; every point has a ``<title>`` with its numbers, shown on hover.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from html import escape

from gapwatch.report.svg import _y_ticks as round_ticks

__all__ = ["Interval", "IntervalChart", "IntervalGroup", "render_intervals", "render_share_bar"]

W = 720
LEFT, RIGHT, TOP, AXIS = 118, 84, 6, 26
CHAR = 7.6  # width of one character of a group label (12 px, bold), for the left margin
ROW, GAP = 15, 9
SHAPES = ("circle", "square", "triangle", "diamond", "circle", "square")


@dataclass(frozen=True, slots=True)
class Interval:
    series: int  # index into IntervalChart.series: its shape and colour
    estimate: float
    low: float | None
    high: float | None
    strong: bool = True  # filled marker; hollow when False (e.g. not significant)
    flag: str = ""  # a word in the right-hand column
    tip: str = ""  # hover text


@dataclass(frozen=True, slots=True)
class IntervalGroup:
    label: str
    items: list[Interval]


@dataclass(frozen=True, slots=True)
class IntervalChart:
    title: str
    axis: str  # what the axis measures, in words
    series: list[str]
    groups: list[IntervalGroup]
    domain: tuple[float, float] | None = None  # a fixed range (a score scale); else from the data
    reference: float | None = None  # a vertical line (0 for gaps)
    weak_word: str = ""  # legend words for a hollow marker, when any is drawn
    span_word: str = "95 % interval"  # legend words for the whiskers (a range is not an interval)
    notes: list[str] = field(default_factory=list)


def _ok(v: float | None) -> bool:
    return v is not None and math.isfinite(v)


def _range(chart: IntervalChart) -> tuple[float, float]:
    if chart.domain is not None:
        return chart.domain
    values: list[float] = [
        v
        for g in chart.groups
        for i in g.items
        for v in (i.estimate, i.low, i.high)
        if v is not None and _ok(v)
    ]
    if chart.reference is not None:
        values.append(chart.reference)
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    pad = (hi - lo) * 0.06 or 1.0
    return lo - pad, hi + pad


def _marker(shape: str, x: float, y: float, css: str, tip: str) -> str:
    if shape == "square":
        return f'<rect class="{css}" x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8">{_tip(tip)}</rect>'
    if shape == "circle":
        return f'<circle class="{css}" cx="{x:.1f}" cy="{y:.1f}" r="4.5">{_tip(tip)}</circle>'
    if shape == "triangle":
        d = f"M{x:.1f},{y - 5.5:.1f}L{x + 5:.1f},{y + 4:.1f}L{x - 5:.1f},{y + 4:.1f}Z"
    else:
        d = f"M{x:.1f},{y - 5.5:.1f}L{x + 5:.1f},{y:.1f}L{x:.1f},{y + 5.5:.1f}L{x - 5:.1f},{y:.1f}Z"
    return f'<path class="{css}" d="{d}">{_tip(tip)}</path>'


def _tip(text: str) -> str:
    return f"<title>{escape(text)}</title>" if text else ""


def _key(shape: str, series: int, strong: bool) -> str:
    css = f"iv-pt iv-s{series}" + ("" if strong else " weak")
    return f'<svg viewBox="0 0 14 14" class="key iv-key">{_marker(shape, 7, 7.5, css, "")}</svg>'


def _legend(chart: IntervalChart, used: set[int], weak: bool) -> str:
    items = [
        f"<li>{_key(SHAPES[s % len(SHAPES)], s, True)}{escape(name)}</li>"
        for s, name in enumerate(chart.series)
        if s in used
    ]
    items.append(
        '<li><svg viewBox="0 0 24 10" class="key">'
        '<path class="iv-ci iv-key-ci" d="M2,5H22M2,2V8M22,2V8"/></svg>'
        f"{escape(chart.span_word)}</li>"
    )
    if weak and chart.weak_word:
        items.append(f"<li>{_key('circle', 0, False)}{escape(chart.weak_word)}</li>")
    return f'<ul class="legend">{"".join(items)}</ul>'


def render_intervals(chart: IntervalChart) -> str:
    """One ``<figure>``: title, legend, and the chart (or a line saying there is nothing to draw)."""
    groups = [g for g in chart.groups if g.items]
    title = f"<figcaption><h3>{escape(chart.title)}</h3></figcaption>"
    if not groups:
        return f'<figure class="intervals">{title}<p class="empty">Nothing to draw yet.</p></figure>'
    x0, x1 = _range(chart)
    # the left margin grows with the longest group label (up to a third of the width), so no label is cut
    left = min(W / 3, max(LEFT, 16 + CHAR * max(len(g.label) for g in groups)))
    plot_w = W - left - RIGHT

    def x(v: float) -> float:
        return left + (min(max(v, x0), x1) - x0) / (x1 - x0) * plot_w

    height = TOP + sum(len(g.items) * ROW + GAP for g in groups) + AXIS
    bands: list[str] = []
    parts: list[str] = []
    y, used, weak = TOP, set(), False
    for k, g in enumerate(groups):
        band = len(g.items) * ROW + GAP
        if k % 2 == 0:
            bands.append(f'<rect class="iv-band" x="0" y="{y:.1f}" width="{W}" height="{band:.1f}"/>')
        fits = int((left - 16) / CHAR)
        shown = g.label if len(g.label) <= fits else g.label[: fits - 1] + "…"
        parts.append(
            f'<text class="iv-group" x="{left - 8:.1f}" y="{y + band / 2 + 4:.1f}" '
            f'text-anchor="end">{_tip(g.label) if shown != g.label else ""}{escape(shown)}</text>'
        )
        for j, item in enumerate(g.items):
            cy = y + GAP / 2 + j * ROW + ROW / 2
            s = item.series
            used.add(s)
            weak |= not item.strong
            if _ok(item.low) and _ok(item.high):
                lo, hi = x(float(item.low)), x(float(item.high))  # type: ignore[arg-type]
                parts.append(
                    f'<path class="iv-ci iv-s{s}" d="M{lo:.1f},{cy:.1f}H{hi:.1f}'
                    f'M{lo:.1f},{cy - 3:.1f}V{cy + 3:.1f}M{hi:.1f},{cy - 3:.1f}V{cy + 3:.1f}"/>'
                )
            if _ok(item.estimate):
                css = f"iv-pt iv-s{s}" + ("" if item.strong else " weak")
                parts.append(_marker(SHAPES[s % len(SHAPES)], x(item.estimate), cy, css, item.tip))
            if item.flag:
                parts.append(
                    f'<text class="iv-flag" x="{W - RIGHT + 8}" y="{cy + 4:.1f}">{escape(item.flag)}</text>'
                )
        y += band
    axis_y = y + 2
    ticks = []
    for t in round_ticks(x0, x1, 6):
        px = x(t)
        ticks.append(
            f'<line class="grid" x1="{px:.1f}" y1="{TOP}" x2="{px:.1f}" y2="{axis_y:.1f}"/>'
            f'<text class="tick" x="{px:.1f}" y="{axis_y + 14:.1f}" text-anchor="middle">{t:g}</text>'
        )
    ref = ""
    if chart.reference is not None and x0 <= chart.reference <= x1:
        rx = x(chart.reference)
        ref = f'<line class="iv-ref" x1="{rx:.1f}" y1="{TOP}" x2="{rx:.1f}" y2="{axis_y:.1f}"/>'
    axis = f'<line class="axis" x1="{left:.1f}" y1="{axis_y:.1f}" x2="{W - RIGHT}" y2="{axis_y:.1f}"/>'
    svg = (
        f'<svg class="chart iv" viewBox="0 0 {W} {height:.0f}" role="img" '
        f'aria-label="{escape(chart.title)}" xmlns="http://www.w3.org/2000/svg">'
        f"{''.join(bands)}{''.join(ticks)}{ref}{axis}{''.join(parts)}</svg>"
    )
    notes = "".join(f'<p class="panel-note">{escape(n)}</p>' for n in chart.notes)
    return (
        f'<figure class="intervals">{title}{_legend(chart, used, weak)}'
        f'<p class="axis-label">{escape(chart.axis)}</p><div class="chart-scroll">{svg}</div>{notes}</figure>'
    )


def render_share_bar(value: float, mark: float | None, label: str) -> str:
    """A share (0–1) as a small bar, with a tick at ``mark`` (a flag level, say)."""
    w, h = 120, 14
    v = min(max(value, 0.0), 1.0)
    tick = ""
    if mark is not None and math.isfinite(mark):
        mx = 1 + min(max(mark, 0.0), 1.0) * (w - 2)
        tick = f'<line class="bar-mark" x1="{mx:.1f}" y1="0" x2="{mx:.1f}" y2="{h}"/>'
    return (
        f'<svg class="share-bar" viewBox="0 0 {w} {h}" role="img" aria-label="{escape(label)}" '
        f'xmlns="http://www.w3.org/2000/svg"><rect class="bar-bg" x="1" y="3" width="{w - 2}" height="8"/>'
        f'<rect class="bar-fill" x="1" y="3" width="{v * (w - 2):.1f}" height="8"/>{tick}</svg>'
    )
