"""Per-event Bernoulli CUSUM on thin streams: a pinned alarm, the budget's ARL₀, stored signals."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pytest
from monitor_world import START, experiences, store
from scipy import stats

from gapwatch.config import default_config
from gapwatch.detectors.bcusum import bernoulli_cusum_arl
from gapwatch.monitor.events import (
    EventPlan,
    EventSequences,
    bcusum_design,
    judge_events,
)
from gapwatch.monitor.run import MonitorResult, run_monitor

THIN = ("support_ticket", "business", "first_response_hours")
BUSY = ("delivery", "standard", "delivery_days")
SHIFT_DAY = 60
STREAMS = {
    THIN: (3.0, lambda d: 0.06 * (4 if d >= SHIFT_DAY else 1)),  # n·p ≈ 0.18 a day, 1.3 a week
    BUSY: (60.0, lambda d: 0.1),
}
World = tuple[duckdb.DuckDBPyConnection, MonitorResult]


@pytest.fixture(scope="module")
def world() -> World:
    con = store(experiences(STREAMS, days=90, seed=11))
    return con, run_monitor(con, default_config(), clock="event")


def _plan(events: int, misses: int, per_week: float, end: dt.date) -> EventPlan:
    return EventPlan(
        rows=np.array([0], dtype=np.intp),
        keys=[THIN],
        baseline_events=np.array([float(events)]),
        baseline_misses=np.array([float(misses)]),
        events_per_week=np.array([per_week]),
        baseline_start=[START],
        baseline_end=[end],
        reason=["test"],
        override=np.array([False]),
    )


def test_bcusum_alarm_on_a_seeded_thin_stream_is_pinned() -> None:
    rng = np.random.default_rng(2024)
    p = np.r_[np.full(300, 0.05), np.full(200, 0.25)]  # shift ×5 at event 300
    miss = rng.random(p.size) < p
    day = START.toordinal() - dt.date(1970, 1, 1).toordinal() + np.arange(p.size) // 2  # 2 events a day
    seq = EventSequences(np.zeros(p.size, dtype=np.int64), day.astype(np.int64), miss)
    end = START + dt.timedelta(days=99)  # events 0..199 are the baseline
    plan = _plan(200, int(miss[:200].sum()), 14.0, end)
    judged = judge_events(plan, seq, L=3.0)
    alarms = np.flatnonzero(judged.signal[0])
    assert judged.signal.shape == (1, 300)  # phase II only: events 200..499
    assert alarms.size and alarms[0] + 200 >= 300  # nothing before the shift
    assert int(alarms[0]) + 200 == 325  # pinned: 25 events (under 2 weeks) after the shift
    assert judged.arl0[0] == pytest.approx(14.0 / (2 * stats.norm.sf(3.0)))


def test_h_meets_the_stated_arl0() -> None:
    p0, arl0 = np.array([0.02, 0.1]), np.array([2000.0, 600.0])
    gamma, h = bcusum_design(p0, arl0)
    for p, g, hh, a in zip(p0, gamma, h, arl0, strict=True):
        assert bernoulli_cusum_arl(float(p), float(g), float(hh)) >= a


def test_a_thin_stream_is_watched_per_event(world: World) -> None:
    _, result = world
    method = {v.key: v.method for v in result.streams}
    assert method[THIN] == "per-event Bernoulli CUSUM + weekly EWMA"
    assert method[BUSY] == "daily p/p′ + EWMA"
    sigs = [s for s in result.signals_of(THIN) if s.chart == "bcusum"]
    assert sigs, "the shift on the thin stream is signalled per event"
    first = min(s.period for s in sigs)
    assert first == START + dt.timedelta(days=SHIFT_DAY + 8)  # pinned
    assert all(s.period > s.baseline_end for s in sigs if s.baseline_end)
    assert {(s.resolution, s.rule, s.direction, s.provisional) for s in sigs} == {
        ("event", "bcusum", "worse", False)
    }
    per_week = 3.0 * 7  # about 3 events a day in the baseline
    assert sigs[0].arl0 == pytest.approx(per_week / (2 * stats.norm.sf(result.L)), rel=0.25)
    assert not any(s.chart == "bcusum" for s in result.signals_of(BUSY))


def test_per_event_signals_land_in_the_signals_table(world: World) -> None:
    con, result = world
    rows = con.execute(
        "SELECT period, resolution, rule, ucl, arl0 FROM signals WHERE chart = 'bcusum' AND moment = ? "
        "ORDER BY period",
        [THIN[0]],
    ).fetchall()
    expected = sorted(s.period for s in result.signals if s.chart == "bcusum")
    assert [r[0] for r in rows] == expected
    assert {r[1] for r in rows} == {"event"} and {r[2] for r in rows} == {"bcusum"}
    assert all(r[3] > 0 and r[4] > 0 for r in rows)
