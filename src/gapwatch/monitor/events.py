"""Per-event charts for thin streams: a Bernoulli CUSUM on each experience's miss / no miss.

Where a stream's baseline sees too few misses for any period chart (n·p̄ < 5 a day *and* a
week: the engine's ``choose_method`` answers ``bcusum``), the monitor judges every experience
as it arrives with the Bernoulli CUSUM of Reynolds & Stoumbos (1999), DESIGN.md "Streams are
small, many and nested".  Streams overridden to ``bcusum`` in ``gapwatch.yaml`` are watched
the same way (their period miss-rate chart is dropped).  Streams with fewer than
``MIN_BASELINE_EVENTS`` baseline experiences stay "too thin": p₀ cannot be estimated.

* Events: one DuckDB query reads, for all event-watched streams at once, each scored
  experience's day and miss flag in event order (``occurred_at``, then ``event_id``); a
  moment's parent stream reads all its segments.  The ragged sequences are padded into one
  (streams, max events) array and the CUSUM runs over all streams together.
* Phase I: p₀ from the stream's baseline window (the same days as its other charts), with
  Jeffreys' ½ added to misses (a baseline without a miss must not give p₀ = 0).
* Phase II: B_t = max(0, B_{t-1} + X_t - γ) from 0 on the first event after the baseline,
  γ for an odds ratio of ``ODDS_RATIO``; a signal when B_t ≥ h, after which B restarts at 0
  (the run length is then the time between false alarms).  At most one signal per stream and
  day (the day's first), dated on the event's day; never provisional (an event is complete).
* Budget: each event-watched stream costs the workspace's false-alarm budget what one weekly
  point costs: at the monitor's limit multiplier L its weekly false-alarm rate is 2Φ(-L), so
  its in-control ARL in experiences is ARL₀ = (experiences a week) / 2Φ(-L), h from the
  engine's Markov chain (``bernoulli_h_for_arl``).  ``event_points`` tells ``limit_multiplier``
  about these streams so that the total stays at the budget.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from gapwatch.config.schema import DetectionSection
from gapwatch.detectors.bcusum import bernoulli_gamma, bernoulli_h_for_arl
from gapwatch.detectors.choose import choose_method
from gapwatch.domain.gap import Status
from gapwatch.monitor.arrays import ALL_SEGMENTS, StreamArrays
from gapwatch.monitor.charts import Signal
from gapwatch.monitor.plan import MIN_BASELINE_EVENTS, NP_MIN, Plan
from gapwatch.monitor.result import MonitorResult
from gapwatch.ports import Engine

__all__ = [
    "ODDS_RATIO",
    "EventPlan",
    "EventSequences",
    "bcusum_design",
    "event_points",
    "event_sequences",
    "judge_events",
    "plan_events",
    "plan_for_rows",
    "watch_events",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
ODDS_RATIO = 2.0  # the shift the CUSUM is tuned for: the odds of a miss doubled
METHOD = "per-event Bernoulli CUSUM"
_QUERY_VIEW = "_gapwatch_event_streams"


@dataclass(frozen=True)
class EventPlan:
    """The streams watched per event (rows of the daily arrays) and their phase-I facts."""

    rows: NDArray[np.intp]
    keys: list[tuple[str, str, str]]
    baseline_events: FloatArray  # scored experiences in the baseline window
    baseline_misses: FloatArray
    events_per_week: FloatArray  # baseline experiences a day × 7
    baseline_start: list[dt.date | None]
    baseline_end: list[dt.date | None]
    reason: list[str]  # why per event (choose_method's words, or the override)
    override: NDArray[np.bool_]  # chosen by gapwatch.yaml: the period miss-rate chart is dropped

    @property
    def p0(self) -> FloatArray:
        """In-control miss rate: (misses + ½) / (events + 1), within the CUSUM's (0, ½]."""
        est: FloatArray = np.clip((self.baseline_misses + 0.5) / (self.baseline_events + 1.0), 1e-4, 0.5)
        return est

    def __len__(self) -> int:
        return int(self.rows.size)


def _empty_plan() -> EventPlan:
    z = np.zeros(0)
    return EventPlan(np.zeros(0, dtype=np.intp), [], z, z, z, [], [], [], np.zeros(0, dtype=bool))


def plan_events(
    daily: StreamArrays, base: NDArray[np.bool_], plan: Plan, detection: DetectionSection
) -> EventPlan:
    """Which streams are judged per event: too thin for daily and weekly p charts, or overridden."""
    del detection  # the override is already resolved in ``plan.override``
    n = np.where(base, np.nan_to_num(daily.sums["n"]), 0.0).sum(axis=1)
    missed = np.where(base, np.nan_to_num(daily.sums["missed"]), 0.0).sum(axis=1)
    days = np.maximum(base.sum(axis=1), 1)
    rows: list[int] = []
    reasons: list[str] = []
    for i in np.flatnonzero(n >= MIN_BASELINE_EVENTS).tolist():
        method = plan.override[i]
        if method == "bcusum":
            rows.append(i)
            reasons.append("Bernoulli CUSUM per experience: set in gapwatch.yaml (override)")
            continue
        if method != "auto" or plan.p_chart[i]:
            continue
        choice = choose_method("rate", float(n[i] / days[i]), float(missed[i] / n[i]), min_expected=NP_MIN)
        if choice.method == "bcusum":
            rows.append(i)
            reasons.append(choice.reason)
    return plan_for_rows(daily, base, plan, np.array(rows, dtype=np.intp), reasons)


def plan_for_rows(
    daily: StreamArrays, base: NDArray[np.bool_], plan: Plan, rows: NDArray[np.intp], reasons: Sequence[str]
) -> EventPlan:
    """The phase-I facts of the streams at ``rows`` (any streams: the evaluation compares charts)."""
    if not rows.size:
        return _empty_plan()
    n = np.where(base[rows], np.nan_to_num(daily.sums["n"][rows]), 0.0).sum(axis=1)
    missed = np.where(base[rows], np.nan_to_num(daily.sums["missed"][rows]), 0.0).sum(axis=1)
    days = np.maximum(base[rows].sum(axis=1), 1)
    idx = rows.tolist()
    return EventPlan(
        rows=rows,
        keys=[daily.keys[i] for i in idx],
        baseline_events=n,
        baseline_misses=missed,
        events_per_week=n / days * 7.0,
        baseline_start=[plan.baseline_start[i] for i in idx],
        baseline_end=[plan.baseline_end[i] for i in idx],
        reason=list(reasons),
        override=np.array([plan.override[i] == "bcusum" for i in idx], dtype=bool),
    )


def event_points(
    daily: StreamArrays, base: NDArray[np.bool_], plan: Plan, detection: DetectionSection
) -> float:
    """Points a week the event-watched streams add to the budget (one weekly point each)."""
    return float(len(plan_events(daily, base, plan, detection)))


@functools.lru_cache(maxsize=4096)
def _h(p0: float, arl0: float) -> float:
    odds = p0 / (1 - p0) * ODDS_RATIO
    return bernoulli_h_for_arl(p0, odds / (1 + odds), arl0)


def bcusum_design(p0: FloatArray, arl0: FloatArray) -> tuple[FloatArray, FloatArray]:
    """γ and h per stream for miss rates ``p0`` and in-control ARLs ``arl0`` (in experiences).

    p₀ is rounded to 3 significant digits and ARL₀ up to 2, so streams share Markov-chain
    solutions (h is never below what the exact ARL₀ needs).
    """
    p = np.array([float(f"{x:.3g}") for x in p0.tolist()])
    arl = np.array([_round_up(x) for x in arl0.tolist()])
    odds = p / (1 - p) * ODDS_RATIO
    gamma = np.array([bernoulli_gamma(float(a), float(b)) for a, b in zip(p, odds / (1 + odds), strict=True)])
    h = np.array([_h(float(a), float(b)) for a, b in zip(p, arl, strict=True)])
    return gamma, h


def _round_up(x: float) -> float:
    if x <= 0 or not np.isfinite(x):
        return 1.0
    scale = 10.0 ** (np.floor(np.log10(x)) - 1)
    return float(np.ceil(x / scale) * scale)


@dataclass(frozen=True)
class EventSequences:
    """Ragged event sequences as one long table: stream (index into the plan), day, miss."""

    stream: IntArray
    day: IntArray  # days since 1970-01-01
    miss: NDArray[np.bool_]

    def padded(self, n_streams: int, keep: NDArray[np.bool_] | None = None) -> tuple[FloatArray, IntArray]:
        """(streams, max events) arrays of 0/1 (NaN after a stream's last event) and days (-1 there).

        ``keep`` selects the events to place (in their order); the others are left out.
        """
        sel = np.ones(self.stream.size, dtype=bool) if keep is None else keep
        stream, day, miss = self.stream[sel], self.day[sel], self.miss[sel]
        counts = np.bincount(stream, minlength=n_streams)
        width = int(counts.max()) if counts.size and stream.size else 0
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        pos = np.arange(stream.size) - starts[stream]
        x = np.full((n_streams, width), np.nan)
        d = np.full((n_streams, width), -1, dtype=np.int64)
        x[stream, pos] = miss.astype(float)
        d[stream, pos] = day
        return x, d


def _events_sql(table: str) -> str:
    """Each scored experience of the wanted streams: its day and miss flag, in event order.

    Ties in time are broken by event id, then source, so every engine gives the same order.
    """
    return f"""SELECT k.stream, datediff('day', DATE '1970-01-01', e.period) AS day,
                       e.status = {int(Status.MISSED)} AS miss
                FROM "{table}" e JOIN "{_QUERY_VIEW}" k
                  ON e.moment = k.moment AND e.metric = k.metric
                 AND (k.segment = '{ALL_SEGMENTS}' OR e.segment = k.segment)
                WHERE e.status IS NOT NULL
                ORDER BY k.stream, e.occurred_at, e.event_id, e.source"""


def event_sequences(
    con: Any, keys: Sequence[tuple[str, str, str]], table: str = "experiences"
) -> EventSequences:
    """Scored experiences of ``keys`` in event order, one query for all streams (sorted by stream).

    ``con`` is a DuckDB connection holding ``table``, or an :class:`~gapwatch.ports.Engine`.

    A key whose segment is ``ALL_SEGMENTS`` reads every segment of its moment and metric.
    """
    if not keys:
        z = np.zeros(0, dtype=np.int64)
        return EventSequences(z, z, np.zeros(0, dtype=bool))
    wanted = pa.table(
        {
            "stream": pa.array(range(len(keys)), pa.int64()),
            "moment": [k[0] for k in keys],
            "segment": [k[1] for k in keys],
            "metric": [k[2] for k in keys],
        }
    )
    query = _events_sql(table)
    if isinstance(con, Engine):  # a lake on DuckDB or Spark: the same query, run by the engine
        con.load_arrow(_QUERY_VIEW, wanted)
        try:
            out = con.fetch(query)
        finally:
            con.drop(_QUERY_VIEW)
    else:
        cur = con.cursor()  # its own cursor: the view and the result stay off the caller's connection
        try:
            cur.register(_QUERY_VIEW, wanted)
            out = cur.sql(query).to_arrow_table()
        finally:
            cur.close()
    return EventSequences(
        np.asarray(out.column("stream").to_numpy(), dtype=np.int64),
        np.asarray(out.column("day").to_numpy(), dtype=np.int64),
        np.asarray(out.column("miss").to_numpy(zero_copy_only=False), dtype=bool),
    )


@dataclass(frozen=True)
class EventJudgement:
    """The CUSUM over all event streams: statistic and signals per (stream, phase-II event)."""

    statistic: FloatArray  # (S, E), NaN past a stream's last event
    signal: NDArray[np.bool_]
    day: IntArray
    gamma: FloatArray
    h: FloatArray
    arl0: FloatArray
    p0: FloatArray


def judge_events(plan: EventPlan, seq: EventSequences, L: float) -> EventJudgement:
    """Run the Bernoulli CUSUM over every stream's phase-II events at once."""
    from scipy.stats import norm

    s = len(plan)
    end = np.array([_epoch(d) for d in plan.baseline_end], dtype=np.int64)
    start = np.array([_epoch(d) for d in plan.baseline_start], dtype=np.int64)
    phase2 = seq.day > end[seq.stream] if s else np.zeros(0, dtype=bool)
    x, day = seq.padded(s, phase2 & (seq.day >= start[seq.stream]) if s else None)
    weekly_rate = float(2.0 * norm.sf(L))
    arl0 = plan.events_per_week / weekly_rate
    p0 = plan.p0
    gamma, h = bcusum_design(p0, arl0)
    stat = np.full(x.shape, np.nan)
    sig = np.zeros(x.shape, dtype=bool)
    b = np.zeros(s)
    for j in range(x.shape[1]):
        col = x[:, j]
        seen = ~np.isnan(col)
        b = np.where(seen, np.maximum(0.0, b + np.nan_to_num(col) - gamma), b)
        hit = seen & (b >= h)
        stat[:, j] = np.where(seen, b, np.nan)
        sig[:, j] = hit
        b = np.where(hit, 0.0, b)  # restart after a signal
    return EventJudgement(stat, sig, day, gamma, h, arl0, p0)


def _epoch(d: dt.date | None) -> int:
    return (d - dt.date(1970, 1, 1)).days if d is not None else 2**62


def _signals(plan: EventPlan, levels: Sequence[str], judged: EventJudgement) -> list[Signal]:
    rows, cols = np.nonzero(judged.signal)
    if not rows.size:
        return []
    days = judged.day[rows, cols]
    first = np.concatenate([[True], (rows[1:] != rows[:-1]) | (days[1:] != days[:-1])])  # row-major order
    per_day = {(int(r), int(d)): int(c) for (r, d), c in _day_counts(judged.day)}
    out: list[Signal] = []
    for r, c, d in zip(rows[first].tolist(), cols[first].tolist(), days[first].tolist(), strict=True):
        key = plan.keys[r]
        day = dt.date(1970, 1, 1) + dt.timedelta(days=d)
        out.append(
            Signal(
                key[0],
                key[1],
                key[2],
                levels[r],
                day,
                day,
                "event",
                "bcusum",
                "bcusum",
                "worse",
                float(judged.statistic[r, c]),
                0.0,
                0.0,
                float(judged.h[r]),
                per_day[(r, d)],
                plan.baseline_start[r],
                plan.baseline_end[r],
                False,
                float(judged.arl0[r]),
            )
        )
    return out


def _day_counts(day: IntArray) -> list[tuple[tuple[int, int], int]]:
    rows, _ = np.nonzero(day >= 0)
    days = day[day >= 0]
    pairs = np.stack([rows, days], axis=1) if rows.size else np.zeros((0, 2), dtype=np.int64)
    uniq, counts = np.unique(pairs, axis=0, return_counts=True)
    return [((int(a), int(b)), int(c)) for (a, b), c in zip(uniq.tolist(), counts.tolist(), strict=True)]


def watch_events(
    con: Any, result: MonitorResult, detection: DetectionSection, table: str = "experiences"
) -> MonitorResult:
    """Add per-event judgement of the thin streams to a monitor run: views say so, signals join.

    ``con`` is a DuckDB connection holding ``table``; ``result`` comes from ``detect_streams``.
    """
    from gapwatch.monitor.plan import plan_streams

    if result.daily is None or result.baseline is None:
        return result
    plan = plan_streams(result.daily, result.baseline, detection)
    events = plan_events(result.daily, result.baseline, plan, detection)
    if not len(events):
        return result
    judged = judge_events(events, event_sequences(con, events.keys, table), result.L)
    levels = [result.daily.level[i] for i in events.rows]
    views = list(result.streams)
    overridden = {events.keys[j] for j in np.flatnonzero(events.override)}
    for i in events.rows.tolist():
        view = views[i]
        charts = {k: v for k, v in view.charts.items() if not (k == "miss_rate" and view.key in overridden)}
        when = "daily" if view.resolution == "day" else "weekly"
        method = f"{METHOD} + {when} EWMA" if "mean_gap" in charts else METHOD
        views[i] = dataclasses.replace(view, method=method, charts=charts)
    # an override replaces the period miss-rate chart (rule we1) by the per-event one
    kept = [
        s for s in result.signals if not ((s.moment, s.segment, s.metric) in overridden and s.rule == "we1")
    ]
    merged = sorted(
        itertools.chain(kept, _signals(events, levels, judged)),
        key=lambda s: (s.period, s.moment, s.metric, s.segment, s.chart),
    )
    return dataclasses.replace(result, streams=views, signals=merged)
