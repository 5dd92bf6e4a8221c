"""Weekly NPS: standard error against a hand-computed case, limits from the baseline, a pinned drop."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from monitor_world import START, experiences, store, survey

from gapwatch.demo.score import NPS_WINDOW_DAYS, count_nps_false_alarms, nps_showed
from gapwatch.monitor.nps import NpsChart, compute_nps, nps_chart, nps_se

pytestmark = pytest.mark.filterwarnings("ignore:fetch_arrow_table:DeprecationWarning")


def test_standard_error_by_hand() -> None:
    # 200 answers: 90 promoters (p+ = .45), 50 detractors (p- = .25): NPS = 20.
    # Var of one answer (+1/0/-1) = p+ + p- - (p+ - p-)^2 = .70 - .04 = .66; SE = 100*sqrt(.66/200)
    assert float(nps_se(90, 50, 200)) == pytest.approx(100 * math.sqrt(0.0033))
    assert float(nps_se(90, 50, 200)) == pytest.approx(5.7446, abs=1e-4)


def test_all_promoters_have_no_spread() -> None:
    assert float(nps_se(30, 0, 30)) == 0.0


def test_limits_come_from_the_pooled_baseline() -> None:
    weeks = [START + dt.timedelta(days=7 * k) for k in range(6)]
    n = np.array([100.0, 100, 100, 100, 100, 100])
    prom = np.array([50.0, 50, 50, 50, 50, 30])
    det = np.array([20.0, 20, 20, 20, 20, 40])
    chart = nps_chart(weeks, n, prom, det, np.array([True] * 4 + [False] * 2), L=3.0)
    sigma = 100 * math.sqrt((0.5 + 0.2 - 0.3**2) / 100)
    assert chart.center == pytest.approx(30.0)
    assert chart.lcl[0] == pytest.approx(30.0 - 3 * sigma)
    assert chart.drop.tolist() == [False] * 5 + [True]  # -10 is below 30 - 3*7.8
    assert chart.first_drop(weeks[1]) == weeks[5] + dt.timedelta(days=6)
    assert chart.first_drop(weeks[5] + dt.timedelta(days=1)) is None  # only weeks starting on/after


def test_weekly_nps_from_the_outcomes_table_signals_the_drop_week() -> None:
    con = store(
        experiences({("delivery", "all", "delivery_days"): (5.0, lambda d: 0.1)}, days=7),
        survey(weeks=12, per_week=150, drop_from_week=8),
    )
    chart = compute_nps(con, START, 28)
    assert chart is not None
    assert chart.weeks[0] == START and len(chart.weeks) == 12
    assert chart.baseline.tolist() == [True] * 4 + [False] * 8
    assert chart.first_drop(START) == START + dt.timedelta(days=7 * 8 + 6)
    assert not chart.drop[:8].any()


def _chart_with_drops(drop_weeks: list[int], weeks: int = 20) -> tuple[list[dt.date], NpsChart]:
    days = [START + dt.timedelta(days=7 * k) for k in range(weeks)]
    n = np.full(weeks, 100.0)
    prom, det = np.full(weeks, 50.0), np.full(weeks, 20.0)
    for k in drop_weeks:
        prom[k], det[k] = 20.0, 50.0  # NPS -30 against a centre of +30: far below the limit
    return days, nps_chart(days, n, prom, det, np.array([k < 4 for k in range(weeks)]))


def test_nps_showed_it_only_within_the_incident_window() -> None:
    weeks, chart = _chart_with_drops([6, 15])
    sunday = dt.timedelta(days=6)
    # a drop in week 6 (starts START+42): counts for an incident starting on or before it...
    assert nps_showed(chart, weeks[5], weeks[5] + dt.timedelta(days=3)) == weeks[6] + sunday
    # ...not for one starting after the week began (its answers mostly predate it), and week 15
    # is too late for an incident ending in week 8: the window ends NPS_WINDOW_DAYS after the end
    assert nps_showed(chart, weeks[6] + dt.timedelta(days=1), weeks[8]) is None
    assert nps_showed(chart, weeks[6] + dt.timedelta(days=1), weeks[11]) == weeks[15] + sunday
    end = weeks[15] - dt.timedelta(days=NPS_WINDOW_DAYS)  # the last week in the window starts on end + 28
    assert nps_showed(chart, weeks[9], end) == weeks[15] + sunday
    assert nps_showed(chart, weeks[9], end - dt.timedelta(days=1)) is None


def test_nps_drops_outside_every_window_are_false_alarms() -> None:
    weeks, chart = _chart_with_drops([6, 15])
    incident = {"start": weeks[5].isoformat(), "end": (weeks[5] + dt.timedelta(days=3)).isoformat()}
    assert count_nps_false_alarms(chart, [incident]) == 1  # week 15 is no incident's
    assert count_nps_false_alarms(chart, []) == 2
    assert count_nps_false_alarms(None, [incident]) == 0
