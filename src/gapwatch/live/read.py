"""Read the monitor's state for people: every stream with its state, and one stream's chart.

Both read the ``stream_periods`` and ``signals`` tables, which the live service keeps current
request by request (and ``gapwatch detect`` replaces whole), on a reader connection.

A stream's id is ``moment:segment:metric``; a moment's parent stream (all its segments
summed) has the segment ``*``, e.g. ``delivery:*:delivery_days``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from gapwatch.domain.lifecycle import Lifecycle
from gapwatch.monitor.result import EPISODE_GAP_DAYS
from gapwatch.sqlport import Sql, rows

__all__ = [
    "STREAM_ID",
    "ChartPoint",
    "StreamChart",
    "StreamNotFound",
    "StreamSummary",
    "list_streams",
    "parse_stream_id",
    "stream_chart",
]

STREAM_ID = r"^[a-z][a-z0-9_]*:(\*|[a-z][a-z0-9_]*):[a-z][a-z0-9_]*$"
_STREAM_ID = re.compile(STREAM_ID)
Key = tuple[str, str, str]


class StreamNotFound(LookupError):
    """No stream with that id."""


def parse_stream_id(stream_id: str) -> Key:
    """``"delivery:*:delivery_days"`` -> ("delivery", "*", "delivery_days")."""
    if not _STREAM_ID.match(stream_id):
        raise StreamNotFound(stream_id)
    moment, segment, metric = stream_id.split(":")
    return moment, segment, metric


@dataclass(frozen=True)
class StreamSummary:
    """One stream: where it sits in the lifecycle, how it is watched, and its state."""

    id: str
    moment: str
    segment: str
    metric: str
    level: str
    stage: str | None
    silo: str | None
    resolution: str | None
    method: str
    state: str  # "too thin", "in control" or "signalled"
    since: dt.date | None
    signals: int
    events: int
    first_period: dt.date | None
    last_period: dt.date | None


@dataclass(frozen=True)
class ChartPoint:
    """One period of a stream's chart (statistics, and each chart's point and limits)."""

    period: dt.date
    baseline: bool
    n: int
    missed: int
    exceeded: int
    mean_gap: float | None
    p: dict[str, Any] | None
    ewma: dict[str, Any] | None


@dataclass(frozen=True)
class StreamChart:
    stream: StreamSummary
    p_chart: str | None
    ewma_chart: str | None
    points: list[ChartPoint]
    signals: list[dict[str, Any]]


_SUMMARY = """
SELECT p.moment, p.segment, p.metric, any_value(p.level) AS level, any_value(p.resolution) AS resolution,
       any_value(p.method) AS method, coalesce(sum(p.n), 0) AS events, min(p.period) AS first_period,
       max(p.period) AS last_period
FROM stream_periods p
WHERE (? IS NULL OR p.moment = ?) AND (? IS NULL OR (p.moment = ? AND p.segment = ? AND p.metric = ?))
GROUP BY p.moment, p.segment, p.metric
ORDER BY p.moment, p.metric, p.segment <> '*', p.segment
"""


def _signal_days(con: Sql, key: Key | None) -> dict[Key, list[dt.date]]:
    found = rows(
        con,
        "SELECT moment, segment, metric, period FROM signals WHERE (? IS NULL OR"
        " (moment = ? AND segment = ? AND metric = ?)) ORDER BY period",
        [None if key is None else 1, *(key or (None, None, None))],
    )
    out: dict[Key, list[dt.date]] = {}
    for r in found:
        out.setdefault((r["moment"], r["segment"], r["metric"]), []).append(r["period"])
    return out


def _state(resolution: str | None, days: list[dt.date], last: dt.date | None) -> tuple[str, dt.date | None]:
    """The monitor's rule (``MonitorResult.state``): signalled while signals come within an episode."""
    if not resolution and not days:
        return "too thin", None
    if not days or last is None or (last - days[-1]).days > EPISODE_GAP_DAYS:
        return "in control", None
    since = days[-1]
    for d in reversed(days[:-1]):
        if (since - d).days > EPISODE_GAP_DAYS:
            break
        since = d
    return "signalled", since


def _summaries(con: Sql, lifecycle: Lifecycle, moment: str | None, key: Key | None) -> list[StreamSummary]:
    k = key or (None, None, None)
    found = rows(con, _SUMMARY, [moment, moment, None if key is None else 1, *k])
    days = _signal_days(con, key)
    out = []
    for r in found:
        skey = (r["moment"], r["segment"], r["metric"])
        m = lifecycle.moments.get(r["moment"])
        sig = days.get(skey, [])
        state, since = _state(r["resolution"], sig, r["last_period"])
        out.append(
            StreamSummary(
                ":".join(skey),
                *skey,
                r["level"],
                m.stage if m else None,
                m.silo if m else None,
                r["resolution"],
                r["method"],
                state,
                since,
                len(sig),
                int(r["events"] or 0),
                r["first_period"],
                r["last_period"],
            )
        )
    return out


def list_streams(
    con: Sql,
    lifecycle: Lifecycle,
    *,
    silo: str | None = None,
    stage: str | None = None,
    moment: str | None = None,
    state: str | None = None,
) -> list[StreamSummary]:
    """Every watched stream (each moment as a whole and its segments), in lifecycle order."""
    found = _summaries(con, lifecycle, moment, None)
    order = {m: i for i, m in enumerate(lifecycle.moments)}
    found.sort(key=lambda s: (order.get(s.moment, len(order)), s.metric, s.segment != "*", s.segment))
    return [
        s
        for s in found
        if (silo is None or s.silo == silo)
        and (stage is None or s.stage == stage)
        and (state is None or s.state == state)
    ]


def _point(r: dict[str, Any], prefix: str) -> dict[str, Any] | None:
    if r[f"{prefix}_chart"] is None:
        return None
    return {f: r[f"{prefix}_{f}"] for f in ("statistic", "center", "lcl", "ucl", "signal")}


def stream_chart(
    con: Sql,
    lifecycle: Lifecycle,
    stream_id: str,
    *,
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> StreamChart:
    """One stream's chart: per period the statistics and each chart's point, limits and flag."""
    key = parse_stream_id(stream_id)
    found = _summaries(con, lifecycle, None, key)
    if not found:
        raise StreamNotFound(stream_id)
    where = (
        "moment = ? AND segment = ? AND metric = ?"
        " AND (? IS NULL OR period >= ?) AND (? IS NULL OR period <= ?)"
    )
    params = [*key, since, since, until, until]
    points = rows(con, f"SELECT * FROM stream_periods WHERE {where} ORDER BY period", params)
    sigs = rows(
        con,
        "SELECT period, period_start, chart, rule, direction, statistic, center, lcl, ucl, n, provisional"
        f" FROM signals WHERE {where} ORDER BY period, chart",
        params,
    )
    charts = rows(
        con,
        "SELECT max(p_chart) AS p, max(ewma_chart) AS e FROM stream_periods WHERE moment = ? AND segment = ?"
        " AND metric = ?",
        list(key),
    )[0]
    return StreamChart(
        found[0],
        charts["p"],
        charts["e"],
        [
            ChartPoint(
                r["period"],
                bool(r["baseline"]),
                int(r["n"] or 0),
                int(r["missed"] or 0),
                int(r["exceeded"] or 0),
                r["sum_gap_norm"] / r["n"] if r["n"] else None,
                _point(r, "p"),
                _point(r, "ewma"),
            )
            for r in points
        ],
        sigs,
    )
