"""The experience record's bounds: the accepted event-time window, value domains, identifiers.

Hostile input is the normal case (DESIGN.md): every field has a type, a length and a
domain. The rules here are plain values every face shares; the ingest SQL
(``adapters/duckdb_mapping.py``) turns them into reject codes, and the routes use the same
limits. No I/O here.

Examples
--------
>>> import datetime as dt
>>> from gapwatch.config.schema import WorkspaceSection
>>> now = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
>>> w = event_window(WorkspaceSection(), now=now, start=now)
>>> w.latest - now, (now - w.earliest).days
(datetime.timedelta(days=2), 3650)
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Literal

from gapwatch.config.schema import Metric, Source, WorkspaceConfig, WorkspaceSection

MAX_IDENTIFIER = 256  # characters of a customer or anonymous id, at ingest and on every route
MAX_MAGNITUDE = 1e12  # |value| of a metric with no declared range (its squares stay finite)
MAX_DURATION = dt.timedelta(days=3653)  # a duration longer than ten years is not a measurement
# Units read as durations: their values are >= 0 and at most MAX_DURATION.
DURATION_UNITS: dict[str, float] = {
    "ms": 0.001,
    "s": 1.0,
    "sec": 1.0,
    "seconds": 1.0,
    "min": 60.0,
    "minutes": 60.0,
    "h": 3600.0,
    "hours": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
    "days": 86400.0,
    "w": 604800.0,
    "weeks": 604800.0,
}
# Stripped from both ends of an identifier: ASCII whitespace and the Unicode spaces a
# copy-paste brings (no-break, em, ideographic, zero-width, byte-order mark).
ID_BLANKS = (
    " \t\n\r\x0b\x0c\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u200b\u2028\u2029\u202f\u205f\u3000\ufeff"
)
IdCase = Literal["lower", "keep"]


@dataclass(frozen=True, slots=True)
class EventWindow:
    """Event times accepted at ingest: ``earliest <= occurred_at <= latest`` (instants, UTC)."""

    earliest: dt.datetime
    latest: dt.datetime

    def __contains__(self, when: dt.datetime) -> bool:
        return self.earliest <= when <= self.latest


def event_window(
    section: WorkspaceSection,
    *,
    now: dt.datetime,
    start: dt.datetime,
    last_event: dt.datetime | None = None,
) -> EventWindow:
    """The accepted window: not before the workspace's ``start`` minus its history, not ahead of the clock.

    ``now`` is the wall clock; on the event-time clock (a replay) ``last_event`` is the latest
    event stored so far, and an event may not run ahead of it either: one far-future event
    would otherwise close every day before it. Live state is sized by this window, never
    by the extreme of the data.
    """
    ahead = dt.timedelta(hours=section.accept.ahead_hours)
    latest = _utc(now) + ahead
    if last_event is not None:
        latest = min(latest, _utc(last_event) + ahead)
    earliest = _utc(start) - dt.timedelta(days=section.accept.history_days)
    return EventWindow(earliest, max(latest, earliest))


def _utc(when: dt.datetime) -> dt.datetime:
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


def value_domain(metric: Metric) -> tuple[float, float]:
    """The values a metric may take: its declared ``range`` or ``scale``, else a physical bound.

    Examples
    --------
    >>> value_domain(Metric(unit="points", direction="higher", kind="rating", scale=(1, 5)))
    (1.0, 5.0)
    >>> value_domain(Metric(unit="days", direction="lower"))
    (0.0, 3653.0)
    >>> value_domain(Metric(unit="EUR", direction="higher"))
    (-1000000000000.0, 1000000000000.0)
    """
    declared = metric.range or metric.scale
    if declared is not None:
        return float(declared[0]), float(declared[1])
    seconds = DURATION_UNITS.get(metric.unit.strip().lower())
    if seconds is not None:
        return 0.0, MAX_DURATION.total_seconds() / seconds
    return -MAX_MAGNITUDE, MAX_MAGNITUDE


def value_domains(config: WorkspaceConfig) -> dict[str, tuple[float, float]]:
    """Every declared metric's domain (finite bounds, low < high)."""
    out = {name: value_domain(metric) for name, metric in config.metrics.items()}
    assert all(math.isfinite(lo) and math.isfinite(hi) and lo < hi for lo, hi in out.values())
    return out


def normalised_id_sql(text: str, case: IdCase) -> str:
    """The identifier rule as one SQL expression over ``text`` (DuckDB's ``trim`` and ``lower``).

    It is written once, here, and run by the store on every ingest path and in every lookup
    by id: Python's ``str.lower`` differs from DuckDB's for a few characters, so ids are never
    normalised in Python. Blanks of both ends are stripped, the case rule applied, '' is NULL.
    """
    quoted = "'" + ID_BLANKS.replace("'", "''") + "'"
    # trim() with a set of characters costs 8x a plain trim: it runs only on an id whose first
    # or last character is one of them (most have none), found by one regular expression.
    blank = "[" + "".join(f"\\x{{{ord(c):x}}}" for c in ID_BLANKS) + "]"
    edge = f"regexp_matches({text}, '^{blank}|{blank}$')"
    stripped = f"(CASE WHEN {edge} THEN trim({text}, {quoted}) ELSE {text} END)"
    return f"NULLIF({'lower(' + stripped + ')' if case == 'lower' else stripped}, '')"


def id_case(config: WorkspaceConfig, source: Source | None) -> IdCase:
    """The case rule of a source's identifiers: its own, else the workspace's."""
    if source is not None and source.id_case is not None:
        return source.id_case
    return config.workspace.id_case


def id_cases(config: WorkspaceConfig) -> tuple[IdCase, ...]:
    """Every case rule in use (the workspace's and the sources'), to look an id up by each."""
    rules = {config.workspace.id_case, *(s.id_case for s in config.sources.values() if s.id_case)}
    return tuple(sorted(rules))


def allowed_moments(config: WorkspaceConfig, source: str) -> tuple[str, ...] | None:
    """The moments a declared source may post: its ``moments`` list, else what its mapping yields.

    ``None`` for a name ``gapwatch.yaml`` does not declare (only an admin can post for one;
    an ingest key is refused before its events are read).
    """
    declared = config.sources.get(source)
    if declared is None:
        return None
    if declared.moments is not None:
        return tuple(declared.moments)
    spec = declared.moment
    if spec is None:
        return ()
    if spec.value is not None:
        return (str(spec.value),)
    if spec.map is None:
        return None  # any moment a column names: declare `moments` to restrict it
    targets = [str(v) for v in (spec.map or {}).values() if v is not None]
    if spec.default is not None:
        targets.append(str(spec.default))
    return tuple(dict.fromkeys(targets))
