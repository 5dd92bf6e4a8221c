"""The per-event Bernoulli CUSUM of one stream, recomputed for drawing with the monitor's own steps.

The monitor keeps the signals of a per-event chart but not its trace (one value per experience).
:func:`event_panel` rebuilds the trace of one stream from its moment's experiences: the same
aggregate, baseline, plan and CUSUM design (``plan_events``, ``judge_events``) at the workspace's
limit multiplier L, so the drawn chart is the one that raised the stored signals.
:func:`limit_of_store` computes that L from a store when no live service holds it (a batch report).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import secrets
from typing import Any

import numpy as np

from gapwatch.config.schema import DetectionSection
from gapwatch.monitor.arrays import from_aggregate, with_parents
from gapwatch.monitor.events import (
    ODDS_RATIO,
    event_points,
    event_sequences,
    judge_events,
    plan_events,
    plan_for_rows,
)
from gapwatch.monitor.plan import baseline_masks, limit_multiplier, plan_streams
from gapwatch.monitor.run import aggregate, horizon
from gapwatch.report.figure_model import Mark, Panel, ordinal

__all__ = ["event_panel", "limit_of_store"]

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
EPOCH = dt.date(1970, 1, 1).toordinal()


def limit_of_store(reader: Any, detection: DetectionSection) -> tuple[float, dt.date | None, dt.date | None]:
    """(L, first day, last day) of a store: the monitor's limit multiplier without running the charts."""
    stored = horizon(reader)
    first, last = stored["first_period"], stored["last_period"]
    if first is None:
        return 3.0, None, None
    daily = with_parents(from_aggregate(aggregate(reader), first, last))
    if not daily.keys:
        return 3.0, first, last
    base = baseline_masks(daily, detection)
    plan = plan_streams(daily, base, detection)
    L = limit_multiplier(plan, detection.false_alarms_per_week, event_points(daily, base, plan, detection))
    return L, first, last


def _moment_aggregate(con: Any, moment: str, metric: str) -> Any:
    if not (_NAME.match(moment) and _NAME.match(metric)):  # names go into SQL below
        raise ValueError(f"not a stream name: {moment!r}, {metric!r}")
    cur = con.cursor()  # a temporary view lives on its own connection only
    view = f"_gapwatch_figure_{secrets.token_hex(4)}"
    try:
        cur.execute(
            f"CREATE TEMP VIEW {view} AS SELECT * FROM experiences"
            f" WHERE moment = '{moment}' AND metric = '{metric}'"
        )
        return aggregate(cur, view)
    finally:
        cur.close()


def event_panel(
    con: Any,
    key: tuple[str, str, str],
    detection: DetectionSection,
    L: float,
    first: dt.date | None,
    last: dt.date | None,
    *,
    since: dt.date | None = None,
) -> Panel | None:
    """The Bernoulli CUSUM of ``key`` over its phase-II experiences, or None if it is not event-watched."""
    daily = with_parents(from_aggregate(_moment_aggregate(con, key[0], key[2]), first, last))
    if key not in daily.keys:
        return None
    base = baseline_masks(daily, detection)
    plan = plan_streams(daily, base, detection)
    events = plan_events(daily, base, plan, detection)
    if key not in events.keys:
        return None
    j = events.keys.index(key)
    one = plan_for_rows(daily, base, plan, events.rows[[j]], [events.reason[j]])
    judged = judge_events(one, event_sequences(con, [key]), L)
    stat, days, hits = judged.statistic[0], judged.day[0], judged.signal[0]
    keep = days >= 0
    stat, days, hits = stat[keep], days[keep], hits[keep]
    x = _spread(days)
    lo = ordinal(since) if since else -math.inf
    sel = x >= lo
    h, gamma, p0, arl0 = (float(a[0]) for a in (judged.h, judged.gamma, judged.p0, judged.arl0))
    marks = [
        Mark(
            float(xi),
            float(v),
            "worse",
            "bcusum",
            f"{dt.date.fromordinal(int(xi)):%Y-%m-%d}: worse signal, the CUSUM reached h = {h:.2f}",
        )
        for xi, v, hit in zip(x[sel], stat[sel], hits[sel], strict=True)
        if hit
    ]
    xs = x[sel].tolist()
    hover = [
        f"{dt.date.fromordinal(int(xi)):%Y-%m-%d}, experience {k + 1} of the day: CUSUM {v:.2f} (h = {h:.2f})"
        for xi, v, k in zip(xs, stat[sel].tolist(), _rank_in_day(days)[sel].tolist(), strict=True)
    ]
    return Panel(
        kind="bcusum",
        title="misses per experience: Bernoulli CUSUM (Reynolds & Stoumbos)",
        y_label="CUSUM of misses (restarts at 0 after a signal)",
        x=xs,
        statistic=stat[sel].tolist(),
        center=[math.nan] * len(xs),
        lcl=[math.nan] * len(xs),
        ucl=[h] * len(xs),
        provisional=[False] * len(xs),
        marks=marks,
        hover=hover,
        note=(
            f"p₀ = {p0:.2%} from the baseline, tuned for the odds of a miss ×{ODDS_RATIO:g}: "
            f"γ = {gamma:.3f}, h = {h:.2f}, ARL₀ ≈ {arl0:,.0f} experiences"
        ),
        step=True,
    )


def _rank_in_day(days: np.ndarray) -> np.ndarray:
    """0, 1, 2, … within each run of equal days (events are in time order)."""
    if not days.size:
        return days
    starts = np.concatenate([[True], days[1:] != days[:-1]])
    idx = np.arange(days.size)
    first = np.maximum.accumulate(np.where(starts, idx, 0))
    return idx - first


def _spread(days: np.ndarray) -> np.ndarray:
    """Each experience at its day, spread evenly across the day in event order."""
    if not days.size:
        return np.zeros(0)
    rank = _rank_in_day(days)
    _, inverse, counts = np.unique(days, return_inverse=True, return_counts=True)
    return (days + EPOCH).astype(float) + (rank + 0.5) / counts[inverse]
