"""Thin streams, judged three ways at the same weekly false-alarm allowance (bench/evaluate.py --thin).

Every stream whose baseline has n·p̄ < 5 misses a day is judged by the per-event Bernoulli CUSUM
(as the monitor runs it), a daily p-chart (the weekly allowance spread over 7 points) and a
weekly p-chart (one weekly point at the monitor's L): false alarms per stream-year on
incident-free streams, and delay to the incidents that fall on thin streams.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.stats import norm

from _eval_kit import GRACE_DAYS, day, quantiles
from gapwatch.monitor.arrays import to_weeks
from gapwatch.monitor.detect import miss_rate_chart
from gapwatch.monitor.events import event_sequences, judge_events, plan_for_rows
from gapwatch.monitor.plan import NP_MIN, plan_streams, week_mask

CHARTS = ("per-event CUSUM", "daily p", "weekly p")
TALLY: dict[str, Any] = {
    "streams": 0,
    "years": 0.0,
    "false": defaultdict(int),
    "delay": defaultdict(list),
}


def _first_worse(days: list[dt.date], start: dt.date, end: dt.date) -> float | None:
    hits = [d for d in days if start <= d <= end + dt.timedelta(days=GRACE_DAYS)]
    return float((min(hits) - start).days) if hits else None


def _period_signals(
    chart: Any,
    days: Sequence[dt.date],
    starts: Sequence[dt.date],
    plan: Any,
    rows: NDArray[np.intp],
    out: list[list[dt.date]],
) -> None:
    flags = next(iter(chart.signals.values()))
    worse = flags & (chart.statistic > chart.ucl)
    for j, i in enumerate(rows):
        end = plan.baseline_end[i]
        out[j].extend(
            days[t] for t in np.flatnonzero(worse[j]).tolist() if end is not None and starts[t] > end
        )


def compare_thin(result: Any, truth: dict[str, Any], con: Any, detection: Any) -> None:
    daily, base = result.daily, result.baseline
    plan = plan_streams(daily, base, detection, result.complete)
    n = np.where(base, np.nan_to_num(daily.sums["n"]), 0.0).sum(axis=1)
    missed = np.where(base, np.nan_to_num(daily.sums["missed"]), 0.0).sum(axis=1)
    bdays = np.maximum(base.sum(axis=1), 1)
    pbar = np.divide(missed, n, out=np.zeros_like(n), where=n > 0)
    np_day = n / bdays * np.minimum(pbar, 1 - pbar)
    rows = np.flatnonzero((np.array(plan.resolution) != "") & (np_day < NP_MIN))
    if not rows.size:
        return
    keys = [daily.keys[i] for i in rows]
    alpha_week = float(2.0 * norm.sf(result.L))
    eplan = plan_for_rows(daily, base, plan, rows, [""] * rows.size)
    judged = judge_events(eplan, event_sequences(con, keys), result.L)
    signal_days: dict[str, list[list[dt.date]]] = {c: [[] for _ in rows] for c in CHARTS}
    for r, c in zip(*np.nonzero(judged.signal), strict=True):
        signal_days[CHARTS[0]][int(r)].append(dt.date(1970, 1, 1) + dt.timedelta(days=int(judged.day[r, c])))
    d = daily.take(rows)
    l_day = float(norm.isf(alpha_week / 14.0))
    chart = miss_rate_chart(d.sums["missed"], d.sums["n"], base[rows], l_day, revise=False)
    _period_signals(chart, d.dates(), d.dates(), plan, rows, signal_days[CHARTS[1]])
    weeks = to_weeks(daily)
    w = weeks.take(rows)
    wbase = week_mask(base, weeks, daily)[rows]
    ends = [min(x.item(), daily.dates()[-1]) for x in w.period_end().astype("datetime64[D]")]
    chart = miss_rate_chart(w.sums["missed"], w.sums["n"], wbase, result.L, laney=["never"] * rows.size)
    _period_signals(chart, ends, w.dates(), plan, rows, signal_days[CHARTS[2]])
    incidents = {(i["moment"], i["segment"], i["metric"]): i for i in truth["incidents"]}
    last = result.last_period
    for j, key in enumerate(keys):
        inc = incidents.get(key)
        parent_hit = key[1] == "*" and any(
            (i["moment"], i["metric"]) == (key[0], key[2]) for i in truth["incidents"]
        )
        end = plan.baseline_end[rows[j]]
        if inc is None and not parent_hit and end is not None:
            TALLY["streams"] += 1
            TALLY["years"] += (last - end).days / 365.25
            for c in CHARTS:
                TALLY["false"][c] += len(signal_days[c][j])
        elif inc is not None:
            for c in CHARTS:
                TALLY["delay"][c].append(_first_worse(signal_days[c][j], day(inc["start"]), day(inc["end"])))


def print_thin() -> None:
    print("\nThin streams (baseline n·p̄ < 5 a day): the same data judged three ways, equal weekly allowance")
    print(
        f"({TALLY['streams']} incident-free thin streams, {TALLY['years']:.1f} stream-years after baselines)"
    )
    print("| chart | false alarms | per stream-year | incidents on thin streams | detected | median delay |")
    print("|---|---|---|---|---|---|")
    for c in CHARTS:
        v = TALLY["delay"].get(c, [])
        det = sum(x is not None for x in v)
        per = TALLY["false"][c] / max(TALLY["years"], 1e-9)
        print(f"| {c} | {TALLY['false'][c]} | {per:.2f} | {len(v)} | {det} | {quantiles(v)} |")
