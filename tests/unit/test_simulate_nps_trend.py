"""Without incidents the end-of-journey NPS is stationary: no trend, no more 3-SE weeks than chance.

The world used to open empty (90 days of warm-up, shorter than a full journey), so the first
weeks' answers came from short journeys with few moments and a milder worst moment: the weekly
NPS fell by about 0.5 points a week for the whole window. The second test keeps that cold start
as a check that the first one has the power to see such a drift.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gapwatch.simulate import World, WorldParams, simulate

CUSTOMERS, DAYS, SEED = 60_000, 182, 1  # ~255 answers a week: NPS SE ≈ 5 points a week
Z_LIMIT = 2.576  # two-sided 1%
SIGMAS = 3.0


@dataclass(frozen=True)
class Trend:
    slope: float  # NPS points per week
    z: float  # slope / its standard error
    outside: int  # weeks more than 3 SE from the pooled NPS
    weeks: int


def weekly_nps_trend(world: World) -> Trend:
    """Weighted regression of weekly NPS (complete weeks only) on the week number."""
    weeks = world.days // 7
    week = (np.floor(world.survey.answered_at) // 7).astype(np.int64)
    keep = week < weeks
    week, score = week[keep], world.survey.score[keep]
    n = np.bincount(week, minlength=weeks).astype(float)
    promoters = np.bincount(week, weights=score >= 9, minlength=weeks)
    detractors = np.bincount(week, weights=score <= 6, minlength=weeks)
    seen = n > 0
    n, promoters, detractors = n[seen], promoters[seen], detractors[seen]
    nps = 100.0 * (promoters - detractors) / n
    pp, pd = promoters.sum() / n.sum(), detractors.sum() / n.sum()
    se = 100.0 * np.sqrt((pp + pd - (pp - pd) ** 2) / n)  # in control: the pooled proportions
    x, w = np.flatnonzero(seen).astype(float), 1.0 / se**2
    x_bar, y_bar = np.average(x, weights=w), np.average(nps, weights=w)
    sxx = float(np.sum(w * (x - x_bar) ** 2))
    slope = float(np.sum(w * (x - x_bar) * (nps - y_bar)) / sxx)
    outside = int(np.sum(np.abs(nps - 100.0 * (pp - pd)) > SIGMAS * se))
    return Trend(slope, slope * np.sqrt(sxx), outside, int(seen.sum()))


def test_weekly_nps_has_no_trend_without_incidents() -> None:
    # the classic world: the harder one's slow drifts and shifting mix move the NPS on purpose
    trend = weekly_nps_trend(simulate(CUSTOMERS, DAYS, SEED, incidents=0, params=WorldParams.plain()))
    print(f"slope {trend.slope:+.3f}/week, z {trend.z:+.2f}, {trend.outside}/{trend.weeks} weeks beyond 3 SE")
    assert abs(trend.z) < Z_LIMIT
    # 26 weeks x 0.27% = 0.07 expected beyond 3 SE; P(2 or more) = 0.2%
    assert trend.outside <= 1
    assert abs(trend.slope) * trend.weeks < 5.0  # less than 5 NPS points over the whole window


def test_the_old_short_warm_up_drifted() -> None:
    old = WorldParams(warmup_days=90)
    trend = weekly_nps_trend(simulate(CUSTOMERS, DAYS, SEED, incidents=0, params=old))
    assert trend.z < -Z_LIMIT and trend.slope < -0.3
