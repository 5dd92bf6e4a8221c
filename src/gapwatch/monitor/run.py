"""Monitor every stream of a workspace: aggregate, choose baselines and charts, detect, store.

The use case behind ``gapwatch detect`` and the demo::

    experiences ─ stream_period_stats (Ibis, run by DuckDB) ─ arrays (streams × days)
      ─ nested streams (moment as a whole + its segments) ─ plan (baseline, method, L)
      ─ charts over all streams at once ─ signals ─ ``stream_periods`` and ``signals`` tables

Detection sees only what is in the workspace (never a simulator's truth).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import pyarrow as pa

from gapwatch.config.schema import DetectionSection, WorkspaceConfig
from gapwatch.metrics import data_horizon, stream_period_stats
from gapwatch.monitor.arrays import ALL_SEGMENTS, from_aggregate, with_parents
from gapwatch.monitor.charts import Signal, StreamView, run_charts
from gapwatch.monitor.engine import execute
from gapwatch.monitor.events import event_points, watch_events
from gapwatch.monitor.plan import baseline_masks, limit_multiplier, plan_streams
from gapwatch.monitor.result import MonitorResult

__all__ = [
    "ALL_SEGMENTS",
    "MonitorResult",
    "Signal",
    "StreamView",
    "aggregate",
    "closed_through",
    "detect_all",
    "detect_streams",
    "run_monitor",
]

Clock = Literal["event", "wall"]


def aggregate(con: Any, table: str = "experiences") -> pa.Table:
    """Run the stream × day aggregate on a DuckDB connection (the store's)."""
    return execute(con, stream_period_stats, table)


def horizon(con: Any, table: str = "experiences") -> dict[str, Any]:
    """First and last period and the latest event of ``table`` (what is stored so far)."""
    row: dict[str, Any] = execute(con, data_horizon, table).to_pylist()[0]
    return row


def closed_through(
    last_event: dt.datetime | None, timezone: str, clock: Clock, now: dt.datetime | None
) -> dt.date:
    """The last closed day: the day before the wall clock's today, or before the last event's day."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(timezone)
    if clock == "event" and last_event is not None:
        ref = last_event if last_event.tzinfo else last_event.replace(tzinfo=dt.UTC)
    else:
        ref = now or dt.datetime.now(dt.UTC)
    return ref.astimezone(zone).date() - dt.timedelta(days=1)


def detect_streams(
    table: pa.Table,
    detection: DetectionSection,
    *,
    closed: dt.date,
    first: dt.date | None = None,
    last: dt.date | None = None,
    L: float | None = None,
) -> MonitorResult:
    """Detection on an aggregate already in memory (no I/O): the core of ``run_monitor``.

    ``L`` fixes the limit multiplier instead of deriving it from the plan of the streams given:
    the live service re-judges a few streams with the whole workspace's L (charts are per stream).
    """
    daily = with_parents(from_aggregate(table, first, last))
    if not daily.keys:
        return MonitorResult([], [], 3.0, closed, first, last)
    base = baseline_masks(daily, detection)
    plan = plan_streams(daily, base, detection)
    if L is None:
        extra = event_points(daily, base, plan, detection)
        L = limit_multiplier(plan, detection.false_alarms_per_week, extra)
    views, signals = run_charts(daily, plan, base, L, detection.ewma.lambda_, closed)
    dates = daily.dates()
    return MonitorResult(views, signals, L, closed, dates[0], dates[-1], daily, base)


def detect_all(
    con: Any,
    table: pa.Table,
    detection: DetectionSection,
    *,
    closed: dt.date,
    first: dt.date | None = None,
    last: dt.date | None = None,
    L: float | None = None,
) -> MonitorResult:
    """Every chart on an aggregate: period charts, then the per-event ones (``con`` reads the events).

    The one detection step of ``run_monitor`` and of the live service (``live/monitor.py``).
    """
    result = detect_streams(table, detection, closed=closed, first=first, last=last, L=L)
    return watch_events(con, result, detection)  # thin streams, judged per experience


def detect_store(
    reader: Any, detection: DetectionSection, *, closed: dt.date, stored: dict[str, Any]
) -> MonitorResult:
    """The batch's detection over every stored experience; ``stored`` is their :func:`horizon`."""
    first, last = stored["first_period"], stored["last_period"]
    return detect_all(reader, aggregate(reader), detection, closed=closed, first=first, last=last)


def run_monitor(
    target: Any,
    config: WorkspaceConfig,
    *,
    clock: Clock = "wall",
    now: dt.datetime | None = None,
    store: bool = True,
) -> MonitorResult:
    """Aggregate the workspace's experiences, detect on every stream and store the results.

    ``target`` is the workspace's store (reads on a reader connection, the two tables written
    inside one writer transaction) or a bare DuckDB connection (tests, benchmarks).
    """
    reader = target.reader() if hasattr(target, "reader") else target
    stored = horizon(reader)
    closed = closed_through(stored["last_event"], config.workspace.timezone, clock, now)
    result = detect_store(reader, config.detection, closed=closed, stored=stored)
    if store:
        from gapwatch.monitor.store import store_result

        if hasattr(target, "transaction"):
            with target.transaction() as con:
                store_result(con, result, in_transaction=True)
        else:
            store_result(target, result)
    return result
