"""The service clock: when days close on the wall clock and on event time, and the ticker."""

from __future__ import annotations

import datetime as dt
import threading

from livehelpers import START, live_config, replay, synthetic_records

from gapwatch.adapters.duckdb_store import DuckDBStore
from gapwatch.api import Runtime
from gapwatch.live.clock import PeriodTicker, ServiceClock
from gapwatch.live.state import batch_state_snapshot, compare_states, live_state_snapshot
from gapwatch.settings import Settings

UTC = dt.UTC


def test_event_time_closes_a_day_once_the_data_move_past_it_plus_grace() -> None:
    clock = ServiceClock("event", "UTC")
    assert clock.closed_through(None) is None  # nothing seen, nothing closed (and nothing late)
    assert clock.closed_through(dt.datetime(2026, 3, 5, 0, 0, 1, tzinfo=UTC)) == dt.date(2026, 3, 4)
    late_grace = ServiceClock("event", "UTC", grace_seconds=1800)
    assert late_grace.closed_through(dt.datetime(2026, 3, 5, 0, 20, tzinfo=UTC)) == dt.date(2026, 3, 3)
    assert late_grace.closed_through(dt.datetime(2026, 3, 5, 0, 40, tzinfo=UTC)) == dt.date(2026, 3, 4)


def test_the_wall_clock_closes_at_midnight_plus_grace_in_the_workspace_zone() -> None:
    now = dt.datetime(2026, 3, 5, 23, 10, tzinfo=UTC)  # 00:10 on the 6th in Berlin
    berlin = ServiceClock("wall", "Europe/Berlin", now=lambda: now)
    assert berlin.grace == dt.timedelta(minutes=15)  # the wall clock's default grace
    assert berlin.closed_through(None) == dt.date(2026, 3, 4)  # the 5th is open for 5 more minutes
    assert berlin.seconds_to_next_close() == 300.0
    assert ServiceClock("wall", "Europe/Berlin", 0, now=lambda: now).closed_through(None) == dt.date(
        2026, 3, 5
    )


def test_the_ticker_fires_at_each_close() -> None:
    fired = threading.Event()
    now = dt.datetime(2026, 3, 5, 23, 59, 59, 950_000, tzinfo=UTC)
    ticker = PeriodTicker(ServiceClock("wall", "UTC", 0, now=lambda: now), fired.set, margin=0.01)
    try:
        assert fired.wait(2.0)
    finally:
        ticker.stop()


def test_a_day_closes_on_the_wall_clock_without_any_event() -> None:
    config = live_config()
    runtime = Runtime(Settings(), config, DuckDBStore(timezone="UTC"))  # the wall clock
    now = [dt.datetime.combine(START + dt.timedelta(days=20), dt.time(12), UTC)]
    runtime.live.clock = ServiceClock("wall", "UTC", now=lambda: now[0])
    try:
        day20 = START + dt.timedelta(days=20)
        replay(runtime, [r for r in synthetic_records(days=21) if r[1]["occurred_at"] < now[0].isoformat()])
        assert runtime.live.closed_through == day20 - dt.timedelta(days=1)
        open_day = live_state_snapshot(runtime)
        assert any(s["provisional"] for s in open_day.signals.to_pylist()) or open_day.signals.num_rows == 0
        now[0] = dt.datetime.combine(day20 + dt.timedelta(days=1), dt.time(0, 16), UTC)  # after 15 min grace
        alerts = runtime.writer.call(runtime.tick_job())
        assert runtime.live.closed_through == day20
        closed = live_state_snapshot(runtime)
        assert (
            compare_states(closed, batch_state_snapshot(runtime.store, config, closed=day20), rtol=0.0) == []
        )
        assert not any(s["provisional"] for s in closed.signals.to_pylist())
        assert compare_states(open_day, closed) != []  # the EWMA advanced onto the closed day
        assert isinstance(alerts, list)
    finally:
        runtime.close()
