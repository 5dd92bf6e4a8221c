"""What the stream page shows beside the charts: the expectation's versions, the segments beneath.

Also the stream's *version*: a short fingerprint of its stored periods and signals, which the
page polls to redraw its charts only when something changed (new events, a new signal).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from gapwatch.config.schema import Expectation, WorkspaceConfig
from gapwatch.domain.lifecycle import Lifecycle
from gapwatch.live.read import StreamSummary, list_streams, parse_stream_id
from gapwatch.monitor.arrays import ALL_SEGMENTS
from gapwatch.sqlport import Sql, one

__all__ = ["ExpectationVersion", "expectation_history", "related_streams", "stream_version"]


@dataclass(frozen=True)
class ExpectationVersion:
    expectation: Expectation
    in_force: bool


def expectation_history(
    config: WorkspaceConfig, stream_id: str, today: dt.date | None = None
) -> list[ExpectationVersion]:
    """Every version of the stream's expectation (its segment's, else ``all``), oldest first."""
    moment, segment, metric = parse_stream_id(stream_id)
    found = [
        e
        for e in config.expectations
        if e.moment == moment and e.metric == metric and e.segment in (segment, "all")
    ]
    found.sort(key=lambda e: (e.segment != "all", e.valid_from))
    day = today or dt.date.today()
    live = [e for e in found if e.valid_from <= day and (e.valid_to is None or day < e.valid_to)]
    current = live[-1] if live else None
    return [ExpectationVersion(e, e is current) for e in found]


def related_streams(con: Sql, lifecycle: Lifecycle, stream_id: str) -> list[StreamSummary]:
    """The other streams of the same moment and metric: the parent and its segments."""
    moment, _, metric = parse_stream_id(stream_id)
    mine = [s for s in list_streams(con, lifecycle, moment=moment) if s.metric == metric]
    return sorted(mine, key=lambda s: (s.segment != ALL_SEGMENTS, s.segment))


def stream_version(con: Sql, stream_id: str) -> str:
    """A fingerprint of the stream's stored periods and signals (changes when either does)."""
    key = list(parse_stream_id(stream_id))
    p = one(
        con,
        "SELECT count(*) AS c, coalesce(sum(n), 0) AS n, max(period) AS last FROM stream_periods"
        " WHERE moment = ? AND segment = ? AND metric = ?",
        key,
    )
    s = one(
        con,
        "SELECT count(*) AS c, count(*) FILTER (WHERE provisional) AS p FROM signals"
        " WHERE moment = ? AND segment = ? AND metric = ?",
        key,
    )
    raw = f"{p}|{s}".encode()
    return hashlib.sha256(raw).hexdigest()[:16]
