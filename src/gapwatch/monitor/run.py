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
from gapwatch.monitor.arrays import ALL_SEGMENTS, StreamArrays, from_aggregate, with_parents
from gapwatch.monitor.baseline import Baselines, find_baselines
from gapwatch.monitor.charts import Judging, Signal, StreamView, run_charts
from gapwatch.monitor.engine import execute
from gapwatch.monitor.events import event_points, watch_events
from gapwatch.monitor.expected import Weekday, calendar_factors, expected_levels, pooled_weekday
from gapwatch.monitor.phases import Phases, held_gains, merge, read_phases, with_phases
from gapwatch.monitor.plan import Plan, limit_multiplier, plan_streams, stream_limits, thin_warning
from gapwatch.monitor.promises import pending_promises, promises_due
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
    "workspace_design",
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
    weekday: Weekday | None = None,
) -> MonitorResult:
    """Detection on an aggregate already in memory (no I/O): the core of ``run_monitor``.

    ``L`` fixes the limit multiplier instead of deriving it from the plan of the streams given,
    and ``weekday`` the pooled weekly rhythm: the live service re-judges a few streams with the
    whole workspace's (charts are per stream once those two are known).
    """
    daily = with_parents(from_aggregate(table, first, last))
    if not daily.keys:
        return MonitorResult([], [], 3.0, closed, first, last)
    found, plan, L, weekday = _design(daily, detection, L, weekday)
    expected = expected_levels(daily, found.mask, found.complete, detection, weekday)
    notes = [
        f"{b}; expected level follows {e}" if e and c else b
        for b, e, c in zip(found.note, expected.notes, found.complete.tolist(), strict=True)
    ]
    notes = [note + thin_warning(daily, found.mask, plan, i) for i, note in enumerate(notes)]
    judging = Judging(plan, found.mask, expected, stream_limits(plan, L, detection.min_arl0_weeks), notes)
    views, signals = run_charts(daily, judging, detection.ewma.lambda_, closed)
    dates = daily.dates()
    return MonitorResult(
        views, signals, L, closed, dates[0], dates[-1], daily, found.mask, found.complete, expected, weekday
    )


def _design(
    daily: StreamArrays, detection: DetectionSection, L: float | None, weekday: Weekday | None
) -> tuple[Baselines, Plan, float, Weekday | None]:
    """Baselines, plan, limit multiplier and weekly rhythm: what the whole workspace decides."""
    _, skip = calendar_factors(daily, detection.calendar)
    found = find_baselines(daily, detection, skip)
    if weekday is None:
        weekday = pooled_weekday(daily, found.mask, found.complete, detection)
    plan = plan_streams(daily, found.mask, detection, found.complete)
    if L is None:
        extra = event_points(daily, found.mask, plan, detection)
        L = limit_multiplier(plan, detection.false_alarms_per_week, extra)
    return found, plan, L, weekday


def workspace_design(
    table: pa.Table, detection: DetectionSection, first: dt.date | None, last: dt.date | None
) -> tuple[float, Weekday | None]:
    """The limit multiplier L and the pooled weekly rhythm of a whole workspace's aggregate (its
    streams' charts then depend on their own data only): what a figure of one stream needs."""
    daily = with_parents(from_aggregate(table, first, last))
    if not daily.keys:
        return 3.0, None
    _, _, L, weekday = _design(daily, detection, None, None)
    return L, weekday


def detect_all(
    con: Any,
    table: pa.Table,
    detection: DetectionSection,
    *,
    closed: dt.date,
    first: dt.date | None = None,
    last: dt.date | None = None,
    L: float | None = None,
    phases: Phases | None = None,
    weekday: Weekday | None = None,
) -> MonitorResult:
    """Every chart on an aggregate: period charts, then the per-event ones (``con`` reads the events).

    The one detection step of ``run_monitor`` and of the live service (``live/monitor.py``).
    ``phases`` (from cases that accepted a new normal) judge those streams from their phase
    start against a new baseline (:mod:`gapwatch.monitor.phases`).
    """

    def judge(part: pa.Table, level: float | None, rhythm: Weekday | None) -> MonitorResult:
        found = detect_streams(
            part, detection, closed=closed, first=first, last=last, L=level, weekday=rhythm
        )
        return watch_events(con, found, detection)  # thin streams, judged per experience

    result = judge(table, L, weekday)
    gains = held_gains(result, detection.lock_in_weeks, detection.episode_days)
    if not (phases or gains) or not result.streams:
        return result
    both = merge(phases or {}, gains)
    return with_phases(table, result, both, lambda part: judge(part, result.L, result.weekday))


def detect_store(
    reader: Any, detection: DetectionSection, *, closed: dt.date, stored: dict[str, Any]
) -> MonitorResult:
    """The batch's detection over every stored experience; ``stored`` is their :func:`horizon`."""
    first, last = stored["first_period"], stored["last_period"]
    return detect_all(
        reader,
        aggregate(reader),
        detection,
        closed=closed,
        first=first,
        last=last,
        phases=read_phases(reader),
    )


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
    if pending_promises(reader):  # open promises the clock has passed are missed now
        as_of = stored["last_event"] if clock == "event" and stored["last_event"] else now
        as_of = as_of or dt.datetime.now(dt.UTC)
        if hasattr(target, "transaction"):
            with target.transaction() as con:
                promises_due(con, as_of)
        else:
            promises_due(target, as_of)
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
