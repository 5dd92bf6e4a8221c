"""Run the planned charts over all streams of one resolution at once and list the signals.

Per resolution (daily, weekly) the streams planned for it are taken as one (S, T) batch;
the miss-rate chart judges every period, the current partial one provisionally (its limits
use the n seen so far), while the EWMA advances only on closed periods (DESIGN.md,
"Clocks and periods").  Only phase-II points (after a stream's baseline) raise signals.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from gapwatch.monitor.arrays import StreamArrays, to_weeks
from gapwatch.monitor.detect import ChartResult, mean_gap_chart, miss_rate_chart
from gapwatch.monitor.plan import Plan, week_mask

__all__ = ["Series", "Signal", "StreamView", "run_charts"]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
LANEY_MODE = {"p": "never", "pprime": "always"}


@dataclass(frozen=True)
class Series:
    """One chart of one stream, one value per period."""

    chart: str
    statistic: FloatArray
    center: FloatArray
    lcl: FloatArray
    ucl: FloatArray
    flags: BoolArray


@dataclass(frozen=True)
class StreamView:
    """Everything known about one stream after detection (what reports and tables show)."""

    key: tuple[str, str, str]
    level: str
    resolution: str
    method: str
    periods: list[dt.date]
    sums: dict[str, FloatArray]  # the additive statistics (n, missed, ...) per period
    baseline: BoolArray
    baseline_start: dt.date | None
    baseline_end: dt.date | None
    charts: dict[str, Series] = field(default_factory=dict)

    @property
    def n(self) -> FloatArray:
        return self.sums["n"]


@dataclass(frozen=True)
class Signal:
    """A point beyond its limits: which stream, when, which chart and rule, against what."""

    moment: str
    segment: str
    metric: str
    level: str
    period: dt.date  # the day the point could be judged (a week's last day, or today)
    period_start: dt.date
    resolution: str
    chart: str
    rule: str
    direction: str  # "worse" or "better"
    statistic: float
    center: float
    lcl: float
    ucl: float
    n: int
    baseline_start: dt.date | None
    baseline_end: dt.date | None
    provisional: bool
    arl0: float  # in-control average run length of one point at these limits (Shewhart form)


def _batch(
    daily: StreamArrays, base: BoolArray, rows: NDArray[np.intp], resolution: str
) -> tuple[StreamArrays, BoolArray]:
    if resolution == "day":
        return daily.take(rows), base[rows]
    weeks = to_weeks(daily)
    return weeks.take(rows), week_mask(base, weeks, daily)[rows]


def _signal_days(arr: StreamArrays, last_day: dt.date) -> list[dt.date]:
    return [min(d.item(), last_day) for d in arr.period_end().astype("datetime64[D]")]


def run_charts(
    daily: StreamArrays, plan: Plan, base: BoolArray, L: float, lam: float, closed_through: dt.date
) -> tuple[list[StreamView], list[Signal]]:
    """Charts and signals for every stream, in the order of ``daily.keys``."""
    views: dict[int, StreamView] = {}
    signals: list[Signal] = []
    for resolution in ("day", "week"):
        rows = np.flatnonzero(np.array(plan.resolution) == resolution)
        if rows.size:
            _run_batch(daily, plan, base, rows, resolution, L, lam, closed_through, views, signals)
    for i, key in enumerate(daily.keys):
        if i not in views:
            sums = {k: v[i] for k, v in daily.sums.items()}
            views[i] = StreamView(
                key,
                daily.level[i],
                "",
                plan.describe(i),
                daily.dates(),
                sums,
                base[i],
                plan.baseline_start[i],
                plan.baseline_end[i],
            )
    signals.sort(key=lambda s: (s.period, s.moment, s.metric, s.segment, s.chart))
    return [views[i] for i in range(len(daily.keys))], signals


def _run_batch(
    daily: StreamArrays,
    plan: Plan,
    base_daily: BoolArray,
    rows: NDArray[np.intp],
    resolution: str,
    L: float,
    lam: float,
    closed_through: dt.date,
    views: dict[int, StreamView],
    signals: list[Signal],
) -> None:
    arr, base = _batch(daily, base_daily, rows, resolution)
    arl0 = float(1.0 / (2.0 * stats.norm.sf(L)))
    s = arr.sums
    closed = arr.period_end() <= np.datetime64(closed_through, "D")
    # Over-dispersion is estimated from moving ranges of the baseline's points: a few weeks are too
    # few for that (and weekly sums have no weekday pattern left), so weekly charts stay classic.
    by_day = resolution == "day"
    laney = [LANEY_MODE.get(plan.override[i], "auto" if by_day else "never") for i in rows]
    p_chart = miss_rate_chart(s["missed"], s["n"], base, L, laney=laney)
    open_nan = np.where(closed[None, :], 1.0, np.nan)
    ewma = mean_gap_chart(
        s["sum_gap_norm"] * open_nan,
        s["sum_gap_norm2"],
        s["n"] * open_nan,
        base,
        L,
        lam,
        over_dispersion=by_day,
    )
    dates, ends = arr.dates(), _signal_days(arr, daily.dates()[-1])
    p_flags, e_flags = p_chart.flags, ewma.flags
    ends_at = np.array([plan.baseline_end[i] or "NaT" for i in rows], dtype="datetime64[D]")
    after = arr.periods[None, :] > ends_at[:, None]  # phase II: past the stream's baseline
    charted = (p_flags & plan.p_chart[rows][:, None]) | (e_flags & plan.ewma[rows][:, None])
    flagged: BoolArray = np.asarray((charted & after).any(axis=1), dtype=bool)
    for j, i in enumerate(rows):
        charts: dict[str, Series] = {}
        if plan.p_chart[i]:
            charts["miss_rate"] = _series(p_chart, p_flags, j)
        if plan.ewma[i] and ewma.chart[j]:
            charts["mean_gap"] = _series(ewma, e_flags, j)
        view = StreamView(
            daily.keys[i],
            daily.level[i],
            resolution,
            plan.describe(i),
            dates,
            {k: v[j] for k, v in s.items()},
            base[j],
            plan.baseline_start[i],
            plan.baseline_end[i],
            charts,
        )
        views[int(i)] = view
        if flagged[j]:
            signals.extend(_signals(view, ends, closed, arl0, after[j]))


def _series(chart: ChartResult, flags: BoolArray, j: int) -> Series:
    return Series(
        str(chart.chart[j]), chart.statistic[j], chart.center[j], chart.lcl[j], chart.ucl[j], flags[j]
    )


def _signals(
    view: StreamView, ends: list[dt.date], closed: BoolArray, arl0: float, after: BoolArray
) -> list[Signal]:
    out: list[Signal] = []
    for name, series in view.charts.items():
        for t in np.flatnonzero(series.flags & after):
            high = series.statistic[t] > series.ucl[t]
            worse = high if name == "miss_rate" else not high
            out.append(
                Signal(
                    view.key[0],
                    view.key[1],
                    view.key[2],
                    view.level,
                    ends[t],
                    view.periods[t],
                    view.resolution,
                    series.chart,
                    "ewma" if name == "mean_gap" else "we1",
                    "worse" if worse else "better",
                    float(series.statistic[t]),
                    float(series.center[t]),
                    float(series.lcl[t]),
                    float(series.ucl[t]),
                    int(view.n[t]),
                    view.baseline_start,
                    view.baseline_end,
                    bool(not closed[t]),
                    arl0,
                )
            )
    return out
