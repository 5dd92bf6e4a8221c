"""A systemic incident reaches the end-of-journey NPS, weeks after it started; gapwatch needs a day.

At the demo's density (~640 answers a week, SE ≈ 3.3 points), delivery x3 for six weeks on every
segment moves the weekly NPS by ~9-13 points at its worst, 5-9 weeks after the start (measured
against the same world without it: seeds 1, 3, 7, 42). The survey model is the calibrated one
(``test_simulate_calibration``); only the incident's size and length were tuned.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from numpy.typing import NDArray

from gapwatch.monitor.nps import nps_chart
from gapwatch.simulate import World, simulate

pytestmark = pytest.mark.slow

# the demo's daily arrival rate (150,000 in 180 days) over 18 weeks: about 9 s
CUSTOMERS, DAYS, SEED = 105_000, 126, 42
START = dt.date(2025, 1, 6)


def weekly(world: World) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    weeks = world.days // 7
    week = (np.floor(world.survey.answered_at) // 7).astype(np.int64)
    keep = week < weeks
    week, score = week[keep], world.survey.score[keep]
    n = np.bincount(week, minlength=weeks).astype(float)
    promoters = np.bincount(week, weights=score >= 9, minlength=weeks)
    detractors = np.bincount(week, weights=score <= 6, minlength=weeks)
    return n, promoters, detractors


def test_the_weekly_nps_drops_weeks_after_a_systemic_incident() -> None:
    world = simulate(CUSTOMERS, DAYS, SEED, start=START, incidents=3)
    (inc,) = [i for i in world.incidents if i.systemic]
    n, promoters, detractors = weekly(world)
    mondays = [START + dt.timedelta(days=7 * k) for k in range(n.size)]
    chart = nps_chart(mondays, n, promoters, detractors, np.arange(n.size) < 4)  # the 28-day baseline
    assert 550 < float(np.median(n)) < 750
    drops = np.flatnonzero(chart.drop)
    print(
        f"systemic days {inc.start_day}-{inc.end_day}; NPS {np.round(chart.nps, 1).tolist()}; drops {drops}"
    )
    assert drops.size >= 1
    first = int(drops[0])
    # not before its customers finish their journeys: the first drop's week starts 3+ weeks in ...
    assert 7 * first >= inc.start_day + 21
    # ... and inside the demo's NPS window for a systemic incident (56 days after its end)
    assert 7 * first <= inc.end_day + 56
    # robustly: the weeks 5-9 after its start sit well below the baseline centre
    late = slice(inc.start_day // 7 + 5, inc.start_day // 7 + 10)
    assert chart.center - float(np.mean(chart.nps[late])) > 6.0
