"""The data of a drawn chart (no I/O): panels on one time axis, marks, shaded windows.

The x axis is in days: a date's proordinal (``date.toordinal()``) as a float, so a per-event
chart can spread one day's experiences across that day and share the axis with the daily and
weekly charts of the same stream.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["Figure", "Mark", "Panel", "Window", "from_ordinal", "ordinal"]


def ordinal(day: dt.date) -> int:
    return day.toordinal()


def from_ordinal(x: float) -> dt.date:
    return dt.date.fromordinal(int(x))


@dataclass(frozen=True)
class Mark:
    """One signal on a panel: where, which way (``worse``/``better``), which rule, and its words."""

    x: float
    y: float
    direction: str
    rule: str
    label: str
    provisional: bool = False


@dataclass(frozen=True)
class Window:
    """A shaded stretch of the time axis ``[x0, x1)`` (baseline, incident, a case's life)."""

    x0: float
    x1: float
    label: str
    css: str  # "baseline", "incident" or "case"


@dataclass(frozen=True)
class Panel:
    """One chart: a statistic against its centre line and limits, one value per x (NaN: none)."""

    kind: str  # "miss_rate", "mean_gap", "bcusum", "nps"
    title: str
    y_label: str
    x: Sequence[float]
    statistic: Sequence[float]
    center: Sequence[float]
    lcl: Sequence[float]
    ucl: Sequence[float]
    provisional: Sequence[bool]
    marks: Sequence[Mark] = ()
    hover: Sequence[str] = ()  # one text per x (the numbers behind the point)
    percent: bool = False
    worse_is_high: bool = True  # for the legend: which side of the limits means "worse"
    note: str = ""
    step: bool = False  # a per-event chart: many points, drawn as a line without dots


@dataclass(frozen=True)
class Figure:
    """Every panel of one stream (or of the NPS), drawn on one shared time axis."""

    id: str
    title: str
    subtitle: str
    panels: Sequence[Panel]
    windows: Sequence[Window] = field(default_factory=tuple)
    span: tuple[float, float] = (0.0, 1.0)
