"""Run the planned charts over all streams of one resolution at once and list the signals.

Per resolution (daily, weekly) the streams planned for it are taken as one (S, T) batch;
the miss-rate chart judges every period, the current partial one provisionally (its limits
use the n seen so far), while the EWMA advances only on closed periods (DESIGN.md,
"Clocks and periods").  Only phase-II points (after a stream's baseline) raise signals.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from gapwatch.monitor.arrays import StreamArrays, to_weeks
from gapwatch.monitor.detect import ChartResult, mean_gap_chart, miss_rate_chart
from gapwatch.monitor.expected import Expected
from gapwatch.monitor.plan import Plan, week_mask

__all__ = ["Judging", "Series", "Signal", "StreamView", "run_charts"]

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
    note: str = ""  # the baseline (or why there is none yet) and what the expected level follows
    L: float = float("nan")  # the limit multiplier this stream's charts use

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


@dataclass(frozen=True)
class Judging:
    """What the charts of one run need besides the data: plan, baselines, expectations, limits."""

    plan: Plan
    base: BoolArray
    expected: Expected
    limits: FloatArray  # L per stream
    notes: list[str]  # per stream, what people read about its baseline and expected level


GAP_SUMS = ("sum_gap_norm", "sum_gap_norm2", "n_gap")


def _masked(daily: StreamArrays, skip: BoolArray, gap_skip: BoolArray) -> StreamArrays:
    """The daily sums with the days not judged (calendar) left out (for the mean gap, also the
    days of a calendar factor)."""
    if not gap_skip.any():
        return daily
    return replace(
        daily,
        sums={k: np.where(gap_skip if k in GAP_SUMS else skip, np.nan, v) for k, v in daily.sums.items()},
    )


def _batch(
    daily: StreamArrays, j: Judging, rows: NDArray[np.intp], resolution: str
) -> tuple[StreamArrays, BoolArray, FloatArray, FloatArray, FloatArray | None]:
    """The streams at ``rows`` at ``resolution``: sums, baseline mask, expected rate and mean gap,
    and the expected rate's estimation variance per point (a week's sums all weekdays: its level's)."""
    masked = _masked(daily, j.expected.skip, j.expected.gap_skip)
    e = j.expected
    if resolution == "day":
        return masked.take(rows), j.base[rows], e.rate[rows], e.gap[rows], e.rel_var[rows]
    weeks = to_weeks(masked)
    rate, gap = e.weekly(daily, weeks)
    return weeks.take(rows), week_mask(j.base, weeks, daily)[rows], rate[rows], gap[rows], None


def _signal_days(arr: StreamArrays, last_day: dt.date) -> list[dt.date]:
    return [min(d.item(), last_day) for d in arr.period_end().astype("datetime64[D]")]


def run_charts(
    daily: StreamArrays, j: Judging, lam: float, closed_through: dt.date
) -> tuple[list[StreamView], list[Signal]]:
    """Charts and signals for every stream, in the order of ``daily.keys``."""
    plan = j.plan
    views: dict[int, StreamView] = {}
    signals: list[Signal] = []
    for resolution in ("day", "week"):
        rows = np.flatnonzero(np.array(plan.resolution) == resolution)
        if rows.size:
            _run_batch(daily, j, rows, resolution, lam, closed_through, views, signals)
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
                j.base[i],
                plan.baseline_start[i],
                plan.baseline_end[i],
                note=j.notes[i],
                L=float(j.limits[i]),
            )
    signals.sort(key=lambda s: (s.period, s.moment, s.metric, s.segment, s.chart))
    return [views[i] for i in range(len(daily.keys))], signals


def _run_batch(
    daily: StreamArrays,
    j: Judging,
    rows: NDArray[np.intp],
    resolution: str,
    lam: float,
    closed_through: dt.date,
    views: dict[int, StreamView],
    signals: list[Signal],
) -> None:
    plan = j.plan
    arr, base, rate, gap, rel_var = _batch(daily, j, rows, resolution)
    limits = j.limits[rows]
    s = arr.sums
    closed = arr.period_end() <= np.datetime64(closed_through, "D")
    # Over-dispersion is estimated from moving ranges of the baseline's points: a few weeks are too
    # few for that (and weekly sums have no weekday pattern left), so weekly charts stay classic.
    by_day = resolution == "day"
    laney = [LANEY_MODE.get(plan.override[i], "auto" if by_day else "never") for i in rows]
    p_chart = miss_rate_chart(
        s["missed"],
        s["n"],
        base,
        limits,
        laney=laney,
        rate=rate,
        baseline_misses=j.expected.baseline_misses[rows],
        rel_var=rel_var,
    )
    open_nan = np.where(closed[None, :], 1.0, np.nan)
    ewma = mean_gap_chart(
        s["sum_gap_norm"] * open_nan,
        s["sum_gap_norm2"],
        s["n_gap"] * open_nan,
        base,
        limits,
        lam,
        over_dispersion=by_day,
        expected=gap,
    )
    dates, ends = arr.dates(), _signal_days(arr, daily.dates()[-1])
    p_flags, e_flags = p_chart.flags, ewma.flags
    ends_at = np.array([plan.baseline_end[i] or "NaT" for i in rows], dtype="datetime64[D]")
    after = arr.periods[None, :] > ends_at[:, None]  # phase II: past the stream's baseline
    charted = (p_flags & plan.p_chart[rows][:, None]) | (e_flags & plan.ewma[rows][:, None])
    flagged: BoolArray = np.asarray((charted & after).any(axis=1), dtype=bool)
    raw = to_weeks(daily) if resolution == "week" else daily
    for k, i in enumerate(rows):
        charts: dict[str, Series] = {}
        if plan.p_chart[i]:
            charts["miss_rate"] = _series(p_chart, p_flags, k)
        if plan.ewma[i] and ewma.chart[k]:
            charts["mean_gap"] = _series(ewma, e_flags, k)
        view = StreamView(
            daily.keys[i],
            daily.level[i],
            resolution,
            plan.describe(i),
            dates,
            {name: v[i] for name, v in raw.sums.items()},
            base[k],
            plan.baseline_start[i],
            plan.baseline_end[i],
            charts,
            note=j.notes[i],
            L=float(limits[k]),
        )
        views[int(i)] = view
        if flagged[k]:
            arl0 = float(1.0 / (2.0 * stats.norm.sf(limits[k])))
            signals.extend(_signals(view, ends, closed, arl0, after[k]))


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
