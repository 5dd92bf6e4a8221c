"""Templates (Jinja2, autoescaped) and the page frame: navigation, the viewer, the CSRF secret.

Every page is a template extending ``base.html``; the navigation lists :data:`NAV` in order,
so a new page appears in it by adding one :class:`NavItem` (see ``gapwatch.web.pages``).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from gapwatch.report.figure_model import Figure
from gapwatch.report.intervals import IntervalChart, render_intervals, render_share_bar
from gapwatch.report.svg import render_figure, render_journey_strip, render_sparkline

__all__ = ["NAV", "NavItem", "env", "page", "partial"]


@dataclass(frozen=True)
class NavItem:
    """One entry of the navigation: its label, its path, and the path prefixes it stands for."""

    label: str
    path: str
    prefixes: tuple[str, ...] = ()

    def current(self, path: str) -> bool:
        return path == self.path or any(path.startswith(p) for p in self.prefixes)


NAV: list[NavItem] = []


def _pct(value: float | None, digits: int = 1) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value * 100:.{digits}f}%"


def _risk(value: float | None) -> str:
    """A probability in whole percent, never a rounded 0 % or 100 % (a model is never certain)."""
    if value is None or not math.isfinite(value):
        return "–"
    if value >= 0.995:
        return ">99%"
    if value < 0.005:
        return "<1%"
    return f"{value * 100:.0f}%"


def _hours(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.1f} h" if value < 48 else f"{value / 24:.1f} days"


def _when(value: dt.datetime | dt.date | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return value.isoformat()


SIGNAL_WORDS = {
    "we1": "a point beyond its limit",
    "ewma": "the EWMA beyond its limit",
    "bcusum": "the per-event CUSUM reached h",
}
CHART_WORDS = {"p": "p chart", "pprime": "Laney p′ chart", "ewma": "EWMA chart", "bcusum": "Bernoulli CUSUM"}


def _signal(alert: Any) -> str:
    """e.g. "p chart: a point beyond its limit" for an alert's chart and rule."""
    chart = CHART_WORDS.get(alert.chart, alert.chart)
    return f"{chart}: {SIGNAL_WORDS.get(alert.rule, alert.rule)}"


def _figure(fig: Figure) -> Markup:
    return Markup(render_figure(fig))


def _intervals(chart: IntervalChart) -> Markup:
    return Markup(render_intervals(chart))


def _share_bar(value: float, mark: float | None, label: str) -> Markup:
    return Markup(render_share_bar(value, mark, label))


def _spark(values: list[float], flags: list[bool], label: str) -> Markup:
    return Markup(render_sparkline(values, flags, label))


def _strip(steps: list[Any], silos: list[str], label: str) -> Markup:
    points = [(s.occurred_at, s.silo, s.status) for s in steps]
    return Markup(render_journey_strip(points, silos, label))


env = Environment(
    loader=PackageLoader("gapwatch.web", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
env.filters.update(
    pct=_pct, risk=_risk, hours=_hours, when=_when, figure=_figure, signal=_signal, intervals=_intervals
)
env.globals.update(sparkline=_spark, journey_strip=_strip, share_bar=_share_bar)


def _common(request: Request, viewer: Any) -> dict[str, Any]:
    return {
        "request": request,
        "viewer": viewer,
        "nav": [(item, item.current(request.url.path)) for item in NAV],
        "csrf": viewer.csrf if viewer is not None else "",
    }


def page(request: Request, template: str, viewer: Any, status: int = 200, **context: Any) -> HTMLResponse:
    """A whole page (``base.html`` frame)."""
    html = env.get_template(template).render(**_common(request, viewer), **context)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def partial(request: Request, template: str, viewer: Any, status: int = 200, **context: Any) -> HTMLResponse:
    """A fragment for htmx to swap in (no frame)."""
    return page(request, template, viewer, status, **context)
