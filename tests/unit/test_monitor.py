"""Monitor: nested streams, method by volume, a pinned detection, stored tables, provisional days."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pytest
from monitor_world import START, experiences, store
from scipy import stats

from gapwatch.config import default_config
from gapwatch.config.schema import DetectionSection
from gapwatch.monitor.plan import Plan, limit_multiplier
from gapwatch.monitor.run import ALL_SEGMENTS, MonitorResult, StreamView, closed_through, run_monitor

World = tuple[duckdb.DuckDBPyConnection, MonitorResult]
INCIDENT = START + dt.timedelta(days=60)  # a Friday
STREAMS = {
    ("delivery", "premium", "delivery_days"): (40.0, lambda d: 0.1 * (3 if d >= 60 else 1)),
    ("delivery", "standard", "delivery_days"): (60.0, lambda d: 0.1),
    ("support_ticket", "business", "first_response_hours"): (2.0, lambda d: 0.3),
    ("renewal_offer", "standard", "renewal_notice_days"): (0.3, lambda d: 0.3),
}


@pytest.fixture(scope="module")
def world() -> World:
    con = store(experiences(STREAMS, days=90))
    result = run_monitor(con, default_config(), clock="event")
    return con, result


def _view(result: MonitorResult, key: tuple[str, str, str]) -> StreamView:
    return next(v for v in result.streams if v.key == key)


def test_nested_streams_add_the_moment_as_a_whole(world: World) -> None:
    _, result = world
    keys = [v.key for v in result.streams]
    parent = ("delivery", ALL_SEGMENTS, "delivery_days")
    assert parent in keys
    assert ("support_ticket", ALL_SEGMENTS, "first_response_hours") not in keys  # one segment only
    p = _view(result, parent)
    kids = [_view(result, ("delivery", s, "delivery_days")) for s in ("premium", "standard")]
    assert p.level == "moment" and {k.level for k in kids} == {"segment"}
    assert np.nansum(p.n) == sum(np.nansum(k.n) for k in kids)


def test_method_is_chosen_by_volume(world: World) -> None:
    _, result = world
    method = {v.key: v.method for v in result.streams}
    assert method[("delivery", ALL_SEGMENTS, "delivery_days")] == "daily p/p′ + EWMA"  # n·p ≈ 10 a day
    assert method[("delivery", "premium", "delivery_days")] == "weekly p/p′ + EWMA"  # n·p ≈ 4 a day
    assert method[("support_ticket", "business", "first_response_hours")] == (  # ≈ 4 misses a week
        "per-event Bernoulli CUSUM + weekly EWMA"
    )
    assert method[("renewal_offer", "standard", "renewal_notice_days")] == "too thin"


def test_injected_shift_is_signalled_at_a_pinned_day(world: World) -> None:
    _, result = world

    def first_worse(key: tuple[str, str, str]) -> dt.date:
        return min(s.period for s in result.signals_of(key) if s.direction == "worse")

    assert first_worse(("delivery", ALL_SEGMENTS, "delivery_days")) == INCIDENT
    week_end = INCIDENT + dt.timedelta(days=2)  # weekly stream: known on the Sunday
    assert first_worse(("delivery", "premium", "delivery_days")) == week_end
    state, since = result.state(_view(result, ("delivery", "premium", "delivery_days")))
    assert (state, since) == ("signalled", INCIDENT + dt.timedelta(days=2))


def test_no_signal_inside_the_baseline(world: World) -> None:
    _, result = world
    assert all(s.period > s.baseline_end for s in result.signals)
    assert {s.baseline_start for s in result.signals} == {START}


def test_tables_are_stored(world: World) -> None:
    con, result = world
    assert con.execute("SELECT count(*) FROM signals").fetchone() == (len(result.signals),)
    cols = {r[0] for r in con.execute("DESCRIBE signals").fetchall()}
    assert {
        "moment",
        "segment",
        "metric",
        "period",
        "rule",
        "chart",
        "statistic",
        "center",
        "lcl",
        "ucl",
        "n",
        "baseline_start",
        "baseline_end",
        "provisional",
    } <= cols
    daily = con.execute(
        "SELECT count(*), sum(n) FROM stream_periods WHERE moment = 'delivery' AND segment = '*'"
    ).fetchone()
    assert daily is not None and daily[0] == 90


def test_open_day_is_judged_provisionally_and_ewma_waits(world: World) -> None:
    _, result = world
    last = START + dt.timedelta(days=89)
    assert result.closed_through == last - dt.timedelta(days=1)
    view = _view(result, ("delivery", ALL_SEGMENTS, "delivery_days"))
    assert np.isfinite(view.charts["miss_rate"].statistic[-1])
    assert np.isnan(view.charts["mean_gap"].statistic[-1])
    assert all(s.provisional == (s.period == last) for s in result.signals)


def test_fixed_baseline_window_from_config() -> None:
    con = store(experiences(STREAMS, days=70))
    cfg = default_config().model_copy(
        update={
            "detection": DetectionSection.model_validate(
                {"baseline_start": START + dt.timedelta(days=7), "baseline_days": 21}
            )
        }
    )
    result = run_monitor(con, cfg, clock="event", store=False)
    assert {s.baseline_start for s in result.signals} <= {START + dt.timedelta(days=7)}
    assert {s.baseline_end for s in result.signals} <= {START + dt.timedelta(days=27)}


def test_limit_multiplier_spreads_the_false_alarm_budget() -> None:
    plan = Plan(
        ["day"] * 10 + ["week"] * 4 + [""],
        np.array([True] * 15),
        np.array([True] * 15),
        ["auto"] * 15,
        [None] * 15,
        [None] * 15,
    )
    points = 10 * 7 * 2 + 4 * 2  # points judged per week
    assert limit_multiplier(plan, 1.0) == pytest.approx(stats.norm.isf(1 / points / 2))


def test_closed_through_by_event_or_wall_clock() -> None:
    last = dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.UTC)
    assert closed_through(last, "UTC", "event", None) == dt.date(2026, 2, 28)
    assert closed_through(last, "Asia/Tokyo", "event", None) == dt.date(2026, 3, 1)  # already 2 March there
    now = dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC)
    assert closed_through(last, "UTC", "wall", now) == dt.date(2026, 4, 30)
