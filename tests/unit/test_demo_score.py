"""Scoring the demo against the truth: systemic incidents, false alarms and NPS credit."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any, cast

import numpy as np

from gapwatch.demo.score import (
    NPS_WINDOW_DAYS,
    SYSTEMIC_NPS_WINDOW_DAYS,
    count_false_alarms,
    count_nps_false_alarms,
    nps_owners,
    nps_window_days,
    score_incidents,
)
from gapwatch.monitor.nps import nps_chart
from gapwatch.monitor.run import ALL_SEGMENTS, MonitorResult, Signal

START = dt.date(2025, 1, 6)  # a Monday


def day(k: int) -> dt.date:
    return START + dt.timedelta(days=k)


def signal(moment: str, segment: str, metric: str, k: int, direction: str = "worse") -> Signal:
    return Signal(
        moment,
        segment,
        metric,
        "l",
        day(k),
        day(k),
        "day",
        "p",
        "beyond",
        direction,
        0.3,
        0.1,
        0.0,
        0.2,
        100,
        None,
        None,
        False,
        370.0,
    )


def result(*signals: Signal) -> MonitorResult:
    return cast(MonitorResult, SimpleNamespace(signals=list(signals), daily=None, baseline=None))


def incident(
    moment: str,
    segment: str,
    metric: str,
    start: int,
    end: int,
    *,
    systemic: bool = False,
    answered: int = 0,
    id: str = "INC-1",
) -> dict[str, Any]:
    return {
        "id": id,
        "moment": moment,
        "segment": segment,
        "metric": metric,
        "size": 3.0,
        "start": day(start).isoformat(),
        "end": day(end).isoformat(),
        "systemic": systemic,
        "customers_missed_answered": answered,
    }


SYSTEMIC = incident("delivery", "all", "delivery_days", 42, 83, systemic=True, answered=900, id="INC-5")


def test_a_systemic_incident_is_detected_on_the_parent_stream_first() -> None:
    run = result(
        signal("delivery", "premium", "delivery_days", 43),
        signal("delivery", ALL_SEGMENTS, "delivery_days", 43),
        signal("delivery", "standard", "delivery_days", 42, direction="better"),
    )
    (line,) = score_incidents(run, [SYSTEMIC], None)
    assert line.detected == day(43) and line.delay_days == 1
    assert line.detected_by.startswith("delivery/(all segments)/delivery_days")


def test_a_systemic_incident_also_counts_a_segment_signal() -> None:
    (line,) = score_incidents(result(signal("delivery", "business", "delivery_days", 44)), [SYSTEMIC], None)
    assert line.detected == day(44) and line.detected_by.startswith("delivery/business/")


def test_a_local_incident_on_an_unsegmented_moment_is_not_systemic() -> None:
    local = incident("checkout", "all", "page_load_seconds", 50, 60)
    assert nps_window_days(local) == NPS_WINDOW_DAYS
    assert nps_window_days(SYSTEMIC) == SYSTEMIC_NPS_WINDOW_DAYS > NPS_WINDOW_DAYS
    run = result(
        signal("checkout", "all", "page_load_seconds", 51), signal("delivery", "premium", "delivery_days", 51)
    )
    assert score_incidents(run, [local], None)[0].detected == day(51)
    assert count_false_alarms(run, [local]) == 1  # the delivery signal carries no incident


def test_no_stream_of_a_systemic_moment_has_a_false_alarm() -> None:
    run = result(
        *(signal("delivery", s, "delivery_days", 50) for s in ("standard", "premium", "business")),
        signal("delivery", ALL_SEGMENTS, "delivery_days", 50),
        signal("support_ticket", "premium", "first_response_hours", 50),
    )
    assert count_false_alarms(run, [SYSTEMIC]) == 1
    local = incident("delivery", "premium", "delivery_days", 42, 83)  # the same moment, one segment only
    assert count_false_alarms(run, [local]) == 3  # standard, business and the ticket


def _chart(drop_weeks: list[int], weeks: int = 26) -> Any:
    mondays = [START + dt.timedelta(days=7 * k) for k in range(weeks)]
    n = np.full(weeks, 100.0)
    prom, det = np.full(weeks, 50.0), np.full(weeks, 20.0)
    for k in drop_weeks:
        prom[k], det[k] = 20.0, 50.0
    return nps_chart(mondays, n, prom, det, np.array([k < 4 for k in range(weeks)]))


def test_a_systemic_incident_has_a_longer_nps_window() -> None:
    # incident days 42..83 (weeks 6..11); week 17 starts on day 119 = end + 36: beyond 28, within 56
    chart = _chart([17])
    local = {**SYSTEMIC, "systemic": False}
    assert score_incidents(result(), [local], chart)[0].nps_day is None
    assert score_incidents(result(), [SYSTEMIC], chart)[0].nps_day == day(7 * 17 + 6)
    assert count_nps_false_alarms(chart, [local]) == 1
    assert count_nps_false_alarms(chart, [SYSTEMIC]) == 0


def test_a_drop_in_overlapping_windows_goes_to_the_incident_with_most_let_down_respondents() -> None:
    chart = _chart([13])
    small = incident("welcome_call", "standard", "welcome_days", 83, 107, answered=62, id="INC-4")
    lines = score_incidents(result(), [small, SYSTEMIC], chart)
    assert [line.nps_day for line in lines] == [None, day(7 * 13 + 6)]
    assert nps_owners(chart, [small, SYSTEMIC]) == {13: [1]}
    # alone, the small incident would be credited: the window cannot tell causes apart
    assert score_incidents(result(), [small], chart)[0].nps_day == day(7 * 13 + 6)
    # without the truth's counts (an old truth.json) every incident whose window holds it shares it
    bare = [{k: v for k, v in i.items() if k != "customers_missed_answered"} for i in (small, SYSTEMIC)]
    assert nps_owners(chart, bare) == {13: [0, 1]}
