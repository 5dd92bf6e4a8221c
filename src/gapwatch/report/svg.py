"""Charts drawn as inline SVG: one code path for the web pages and the static report (no script).

A :class:`~gapwatch.report.figure_model.Figure` becomes one ``<figure>``: its title, a legend
in words and symbols (state is never shown by colour alone), and one SVG per panel on a shared
time axis. Inside a panel: shaded windows (baseline, incidents, cases), the limits drawn as
steps (they move with n), the centre line, the statistic (hollow where provisional) and a marker
per signal: a filled triangle for *worse*, an open diamond for *better*. Titles and axis words
sit outside the plot area, never over the axes; date ticks are spaced so labels never touch.
Every point carries a ``<title>`` with its numbers (the browser shows it on hover).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from html import escape

from gapwatch.report.figure_model import Figure, Mark, Panel, Window, from_ordinal

__all__ = ["render_figure", "render_panel", "render_sparkline"]

W, H = 720, 196
LEFT, RIGHT, TOP, BOTTOM = 56, 14, 8, 24
PLOT_W, PLOT_H = W - LEFT - RIGHT, H - TOP - BOTTOM
MIN_LABEL_PX = 74  # a date label is at most ~60 px wide at 11 px
MAX_HOVER = 400


def _ok(v: float | None) -> bool:
    return v is not None and math.isfinite(v)


class _Scale:
    def __init__(self, panel: Panel, span: tuple[float, float]) -> None:
        self.x0, self.x1 = span[0], max(span[1], span[0] + 1.0)
        values = [v for arr in (panel.statistic, panel.lcl, panel.ucl, panel.center) for v in arr if _ok(v)]
        values += [m.y for m in panel.marks if _ok(m.y)]
        lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
        if panel.kind == "bcusum" or (panel.percent and lo >= 0):
            lo = 0.0
        pad = (hi - lo) * 0.08 or abs(hi) * 0.1 or 1.0
        self.y0, self.y1 = (lo if lo == 0.0 else lo - pad), hi + pad

    def x(self, v: float) -> float:
        return LEFT + (v - self.x0) / (self.x1 - self.x0) * PLOT_W

    def y(self, v: float) -> float:
        return TOP + (self.y1 - v) / (self.y1 - self.y0) * PLOT_H


def _y_ticks(lo: float, hi: float, count: int = 4) -> list[float]:
    """Round ticks inside [lo, hi]: at least three (a short range gets finer steps)."""
    raw = (hi - lo) / count
    step = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    step *= next(m for m in (1, 2, 5, 10) if m * step >= raw)
    for _ in range(3):
        first = math.ceil(lo / step - 1e-9) * step
        ticks = [first + k * step for k in range(2 * count + 3) if first + k * step <= hi + 1e-12]
        if len(ticks) >= 3:
            break
        step /= 2
    return [round(t, 12) for t in ticks]


def _month_starts(first: dt.date, last: dt.date, every: int) -> Iterable[dt.date]:
    day = dt.date(first.year, first.month, 1)
    while day <= last:
        if day >= first and (day.month - 1) % every == 0:
            yield day
        day = dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _month_label(day: dt.date, first: bool, months: int) -> str:
    if months >= 12:
        return f"{day:%Y}"
    return f"{day:%b %Y}" if first or day.month == 1 else f"{day:%b}"


def date_ticks(x0: float, x1: float, width_px: float = PLOT_W) -> list[tuple[float, str]]:
    """Tick positions (day ordinals) and labels, spaced at least ``MIN_LABEL_PX`` apart."""
    days = max(x1 - x0, 1.0)
    px_per_day = width_px / days
    first, last = from_ordinal(math.ceil(x0)), from_ordinal(math.floor(x1))
    for step in (1, 2, 7, 14):
        if step * px_per_day >= MIN_LABEL_PX:
            start = first if step < 7 else first + dt.timedelta(days=(7 - first.weekday()) % 7)  # Mondays
            out, day = [], start
            while day <= last:
                out.append((float(day.toordinal()), f"{day.day} {day:%b}"))
                day += dt.timedelta(days=step)
            return out
    for months in (1, 2, 3, 6, 12):
        if months * 30.4 * px_per_day >= MIN_LABEL_PX:
            ticks = list(_month_starts(first, last, months))
            return [(float(d.toordinal()), _month_label(d, k == 0, months)) for k, d in enumerate(ticks)]
    return [(float(dt.date(y, 1, 1).toordinal()), str(y)) for y in range(first.year + 1, last.year + 1)]


def _axes(scale: _Scale, panel: Panel) -> str:
    parts = [
        f'<line class="axis" x1="{LEFT}" y1="{TOP + PLOT_H}" x2="{W - RIGHT}" y2="{TOP + PLOT_H}"/>',
        f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + PLOT_H}"/>',
    ]
    for v in _y_ticks(scale.y0, scale.y1):
        y = scale.y(v)
        label = f"{v * 100:.0f}%" if panel.percent else f"{v:.3g}"
        parts.append(
            f'<line class="grid" x1="{LEFT + 1}" y1="{y:.1f}" x2="{W - RIGHT}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{label}</text>'
        )
    for x, label in date_ticks(scale.x0, scale.x1):
        px = scale.x(x)
        parts.append(
            f'<line class="grid" x1="{px:.1f}" y1="{TOP}" x2="{px:.1f}" y2="{TOP + PLOT_H}"/>'
            f'<line class="axis" x1="{px:.1f}" y1="{TOP + PLOT_H}" x2="{px:.1f}" y2="{TOP + PLOT_H + 4}"/>'
            f'<text class="tick" x="{px:.1f}" y="{H - 6}" text-anchor="middle">{escape(label)}</text>'
        )
    return "".join(parts)


def _windows(scale: _Scale, windows: Sequence[Window]) -> str:
    out = []
    for w in windows:
        a = scale.x(max(w.x0, scale.x0))
        b = scale.x(min(w.x1, scale.x1))
        if b > a:
            out.append(
                f'<rect class="win {w.css}" x="{a:.1f}" y="{TOP}" width="{b - a:.1f}" height="{PLOT_H}">'
                f"<title>{escape(w.label)}</title></rect>"
            )
    return "".join(out)


def _runs(xs: Sequence[float], ys: Sequence[float]) -> list[list[tuple[float, float]]]:
    runs: list[list[tuple[float, float]]] = [[]]
    for x, y in zip(xs, ys, strict=True):
        if _ok(y):
            runs[-1].append((x, y))
        elif runs[-1]:
            runs.append([])
    return [r for r in runs if r]


def _line(scale: _Scale, xs: Sequence[float], ys: Sequence[float], css: str) -> str:
    out = []
    for run in _runs(xs, ys):
        pts = " ".join(f"{scale.x(x):.1f},{scale.y(y):.1f}" for x, y in run)
        if len(run) > 1:
            out.append(f'<polyline class="{css}" points="{pts}"/>')
        else:
            out.append(f'<circle class="{css}" cx="{pts.split(",")[0]}" cy="{pts.split(",")[1]}" r="1.6"/>')
    return "".join(out)


def _steps(scale: _Scale, xs: Sequence[float], ys: Sequence[float], css: str) -> str:
    """Limits as steps: each period's value spans half-way to its neighbours."""
    if len(xs) < 2:
        return _line(scale, xs, ys, css)
    out = []
    for run in _runs(xs, ys):
        if len(run) == 1 or len({round(y, 9) for _, y in run}) == 1:
            a, b = run[0][0], run[-1][0]
            half = 0.5 if len(run) == 1 else 0.0
            y = scale.y(run[0][1])
            out.append(
                f'<line class="{css}" x1="{scale.x(a - half):.1f}" y1="{y:.1f}" '
                f'x2="{scale.x(b + half):.1f}" y2="{y:.1f}"/>'
            )
            continue
        d = []
        for k, (x, y) in enumerate(run):
            left = x - (x - run[k - 1][0]) / 2 if k else x
            right = x + (run[k + 1][0] - x) / 2 if k + 1 < len(run) else x
            d.append(f"{'M' if k == 0 else 'L'}{scale.x(left):.1f},{scale.y(y):.1f}H{scale.x(right):.1f}")
        out.append(f'<path class="{css}" d="{"".join(d)}"/>')
    return "".join(out)


def _points(scale: _Scale, panel: Panel) -> str:
    if panel.step:
        return ""
    out = []
    for x, y, prov in zip(panel.x, panel.statistic, panel.provisional, strict=True):
        if _ok(y):
            css = "pt provisional" if prov else "pt"
            out.append(f'<circle class="{css}" cx="{scale.x(x):.1f}" cy="{scale.y(y):.1f}" r="2.2"/>')
    return "".join(out)


def _marker(scale: _Scale, m: Mark) -> str:
    cx, cy = scale.x(m.x), scale.y(m.y)
    css = f"mark {m.direction}" + (" provisional" if m.provisional else "")
    if m.direction == "better":  # an open diamond
        d = f"M{cx:.1f},{cy - 6:.1f}L{cx + 6:.1f},{cy:.1f}L{cx:.1f},{cy + 6:.1f}L{cx - 6:.1f},{cy:.1f}Z"
    else:  # a filled triangle, pointing up
        d = f"M{cx:.1f},{cy - 7:.1f}L{cx + 6:.1f},{cy + 4:.1f}L{cx - 6:.1f},{cy + 4:.1f}Z"
    return f'<path class="{css}" d="{d}"><title>{escape(m.label)}</title></path>'


def _hover(scale: _Scale, panel: Panel) -> str:
    if not panel.hover:
        return ""
    idx = [i for i, y in enumerate(panel.statistic) if _ok(y)]
    if len(idx) > MAX_HOVER:  # per-event charts: the highest point of each bucket
        buckets: dict[int, int] = {}
        for i in idx:
            b = int((panel.x[i] - scale.x0) / (scale.x1 - scale.x0) * MAX_HOVER)
            if b not in buckets or panel.statistic[i] > panel.statistic[buckets[b]]:
                buckets[b] = i
        idx = sorted(buckets.values())
    return "".join(
        f'<circle class="hover" cx="{scale.x(panel.x[i]):.1f}" cy="{scale.y(panel.statistic[i]):.1f}" r="6">'
        f"<title>{escape(panel.hover[i])}</title></circle>"
        for i in idx
    )


def render_panel(panel: Panel, windows: Sequence[Window], span: tuple[float, float]) -> str:
    """One panel as an ``<svg>`` (a string), scaled by CSS to its container."""
    if not panel.x:
        return f'<p class="empty">{escape(panel.title)}: no points yet.</p>'
    scale = _Scale(panel, span)
    prov = [y if p else math.nan for y, p in zip(panel.statistic, panel.provisional, strict=True)]
    body = [
        _windows(scale, windows),
        _axes(scale, panel),
        _steps(scale, panel.x, panel.ucl, "limit"),
        _steps(scale, panel.x, panel.lcl, "limit"),
        _steps(scale, panel.x, panel.center, "center"),
        _line(scale, panel.x, panel.statistic, "stat"),
        _line(scale, panel.x, prov, "stat provisional") if any(panel.provisional) else "",
        _points(scale, panel),
        "".join(_marker(scale, m) for m in panel.marks if _ok(m.y)),
        _hover(scale, panel),
    ]
    worse = sum(m.direction == "worse" for m in panel.marks)
    better = len(panel.marks) - worse
    desc = f"{panel.title}: {len(panel.x)} points, {worse} worse and {better} better signal(s)"
    return (
        f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{escape(desc)}" '
        f'xmlns="http://www.w3.org/2000/svg">{"".join(body)}</svg>'
    )


def _key(inner: str, height: int = 10) -> str:
    return f'<svg viewBox="0 0 24 {height}" class="key">{inner}</svg>'


_KEY = {
    "stat": _key('<line class="stat" x1="0" y1="5" x2="24" y2="5"/>'),
    "center": _key('<line class="center" x1="0" y1="5" x2="24" y2="5"/>'),
    "limit": _key('<line class="limit" x1="0" y1="5" x2="24" y2="5"/>'),
    "provisional": _key('<circle class="pt provisional" cx="12" cy="5" r="3"/>'),
    "worse": _key('<path class="mark worse" d="M12,1L18,12L6,12Z"/>', 16),
    "better": _key('<path class="mark better" d="M12,2L18,8L12,14L6,8Z"/>', 16),
}


def _legend(fig: Figure) -> str:
    panels = fig.panels
    items = [(_KEY["stat"], "statistic"), (_KEY["center"], "centre line"), (_KEY["limit"], "control limits")]
    if any(pr and _ok(y) for p in panels for pr, y in zip(p.provisional, p.statistic, strict=True)):
        items.append((_KEY["provisional"], "provisional (period still open)"))
    if any(m.direction == "worse" for p in panels for m in p.marks):
        items.append((_KEY["worse"], "worse signal"))
    if any(m.direction == "better" for p in panels for m in p.marks):
        items.append((_KEY["better"], "better signal"))
    seen = set()
    for w in fig.windows:
        name = {"baseline": "baseline", "incident": "incident", "case": "case open"}.get(w.css, w.css)
        if name not in seen and w.x1 > fig.span[0] and w.x0 < fig.span[1]:
            seen.add(name)
            items.append((f'<span class="swatch {escape(w.css)}"></span>', name))
    cells = "".join(f"<li>{icon}{escape(text)}</li>" for icon, text in items)
    return f'<ul class="legend">{cells}</ul>'


def _window_list(fig: Figure) -> str:
    named = [w for w in fig.windows if w.css != "baseline" and w.x1 > fig.span[0] and w.x0 < fig.span[1]]
    if not named:
        return ""
    items = "".join(
        f'<li><span class="swatch {escape(w.css)}"></span>{escape(w.label)}: '
        f"{from_ordinal(w.x0):%Y-%m-%d} – "
        f"{'now' if not math.isfinite(w.x1) else f'{from_ordinal(w.x1 - 1):%Y-%m-%d}'}</li>"
        for w in named
    )
    return f'<ul class="windows">{items}</ul>'


def render_figure(fig: Figure, *, heading: str = "h3") -> str:
    """A figure: title, legend, and each panel (its title and axis words above its SVG)."""
    panels = "".join(
        f'<div class="panel panel-{escape(p.kind)}"><p class="panel-title">{escape(p.title)}</p>'
        f'<p class="axis-label">{escape(p.y_label)}</p>'
        f'<div class="chart-scroll">{render_panel(p, fig.windows, fig.span)}</div>'
        + (f'<p class="panel-note">{escape(p.note)}</p>' if p.note else "")
        + "</div>"
        for p in fig.panels
    )
    empty = "" if fig.panels else '<p class="empty">No chart judges this stream yet (too few events).</p>'
    return (
        f'<figure class="stream" id="fig-{escape(fig.id)}"><figcaption><{heading}>{escape(fig.title)}'
        f'</{heading}><span class="sub">{escape(fig.subtitle)}</span></figcaption>'
        f"{_legend(fig)}{panels}{empty}{_window_list(fig)}</figure>"
    )


def render_sparkline(values: Sequence[float], flags: Sequence[bool], label: str) -> str:
    """A small miss-rate line (no axes) with a dot on signalled periods, for the lifecycle map."""
    w, h = 120, 28
    finite = [v for v in values if _ok(v)]
    if len(finite) < 2:
        return '<span class="spark-empty">–</span>'
    hi = max(finite) or 1.0
    n = len(values)
    pts = [(2 + k * (w - 4) / (n - 1), h - 3 - (v / hi) * (h - 6)) for k, v in enumerate(values)]
    line = " ".join(f"{x:.1f},{y:.1f}" for (x, y), v in zip(pts, values, strict=True) if _ok(v))
    dots = "".join(
        f'<circle class="spark-signal" cx="{x:.1f}" cy="{y:.1f}" r="2.2"/>'
        for (x, y), v, f in zip(pts, values, flags, strict=True)
        if f and _ok(v)
    )
    return (
        f'<svg class="spark" viewBox="0 0 {w} {h}" role="img" aria-label="{escape(label)}" '
        f'xmlns="http://www.w3.org/2000/svg"><polyline class="spark-line" points="{line}"/>{dots}</svg>'
    )


def render_journey_strip(
    points: Sequence[tuple[dt.datetime, str, str]], silos: Sequence[str], label: str
) -> str:
    """One customer's experiences on one time line, a row per silo (its colour), status by shape.

    ``points``: (when, silo, status) with status ``missed`` (triangle), ``met`` (circle) or
    ``exceeded`` (diamond).
    """
    if not points:
        return ""
    w, row, left = 720, 22, 86
    h = row * len(silos) + 26
    t0 = min(p[0] for p in points).timestamp()
    t1 = max(max(p[0] for p in points).timestamp(), t0 + 86400)
    day0, day1 = t0 / 86400 + 719163, t1 / 86400 + 719163  # Unix days to proleptic ordinals

    def x(when: dt.datetime) -> float:
        return left + (when.timestamp() - t0) / (t1 - t0) * (w - left - 12)

    parts = []
    for i, silo in enumerate(silos):
        y = 10 + i * row + row / 2
        parts.append(
            f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{w - 12}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(silo)}</text>'
        )
    index = {s: i for i, s in enumerate(silos)}
    for when, silo, status in points:
        cx, cy = x(when), 10 + index.get(silo, 0) * row + row / 2
        css = f"jp silo-fill-{index.get(silo, 0) % 6} {status}"
        if status == "missed":
            d = f"M{cx:.1f},{cy - 6:.1f}L{cx + 5:.1f},{cy + 4:.1f}L{cx - 5:.1f},{cy + 4:.1f}Z"
        elif status == "exceeded":
            d = f"M{cx:.1f},{cy - 5:.1f}L{cx + 5:.1f},{cy:.1f}L{cx:.1f},{cy + 5:.1f}L{cx - 5:.1f},{cy:.1f}Z"
        else:
            d = f"M{cx - 3:.1f},{cy:.1f}a3,3 0 1,0 6,0a3,3 0 1,0 -6,0"
        tip = f"{when:%Y-%m-%d %H:%M} {escape(silo)}: {status}"
        parts.append(f'<path class="{css}" d="{d}"><title>{tip}</title></path>')
    scale_w = w - left - 12
    for tick, text in date_ticks(day0, day1, scale_w):
        px = left + (tick - day0) / (day1 - day0) * scale_w
        parts.append(
            f'<text class="tick" x="{px:.1f}" y="{h - 4}" text-anchor="middle">{escape(text)}</text>'
        )
    return (
        f'<svg class="chart journey-strip" viewBox="0 0 {w} {h}" role="img" aria-label="{escape(label)}" '
        f'xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg>'
    )
