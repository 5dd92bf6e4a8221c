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
  its in-control ARL in experiences is ARL₀ = (experiences a week) / 2Φ(-L); γ and h from the
  lattice design (``bcusum_design``: an exact Markov chain, milliseconds a stream).
  ``event_points`` tells ``limit_multiplier`` about these streams so that the total stays at
  the budget.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from gapwatch.config.schema import DetectionSection
from gapwatch.detectors.bcusum_lattice import (
    H_MAX,
    BernoulliDesign,
    averaged_design,
    bernoulli_design,
    bernoulli_gamma,
    lattice,
)
from gapwatch.detectors.choose import choose_method
from gapwatch.domain.gap import Status
from gapwatch.monitor.arrays import ALL_SEGMENTS, StreamArrays
from gapwatch.monitor.charts import Signal
from gapwatch.monitor.plan import NP_MIN, Plan
from gapwatch.monitor.result import EventTrace, MonitorResult
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
    daily: StreamArrays,
    base: NDArray[np.bool_],
    plan: Plan,
    detection: DetectionSection,
    complete: NDArray[np.bool_] | None = None,
) -> EventPlan:
    """Which streams are judged per event: too thin for a daily p chart (and not set otherwise), or
    overridden to ``bcusum``.

    Only streams with a complete baseline (``complete``; default: ``baseline_events`` events).
    """
    n = np.where(base, np.nan_to_num(daily.sums["n"]), 0.0).sum(axis=1)
    missed = np.where(base, np.nan_to_num(daily.sums["missed"]), 0.0).sum(axis=1)
    days = np.maximum(base.sum(axis=1), 1)
    rows: list[int] = []
    reasons: list[str] = []
    ready = n >= detection.baseline_events if complete is None else complete
    for i in np.flatnonzero(ready).tolist():
        method = plan.override[i]
        if method == "bcusum":
            rows.append(i)
            reasons.append("Bernoulli CUSUM per experience: set in gapwatch.yaml (override)")
            continue
        if method != "auto" or plan.p_chart[i]:
            continue
        choice = choose_method("rate", float(n[i] / days[i]), float(missed[i] / n[i]), min_expected=NP_MIN)
        rows.append(i)
        if choice.method == "bcusum":
            reasons.append(choice.reason)
        else:  # enough for a weekly chart, but one that waits for the week's end: judge each event
            per_day = float(missed[i] / days[i])
            reasons.append(
                f"Bernoulli CUSUM per experience: {per_day:.2g} expected misses a day, too few for a daily "
                f"p chart (n·p ≥ {NP_MIN:g}); judged as each experience arrives, not at the week's end"
            )
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
    daily: StreamArrays,
    base: NDArray[np.bool_],
    plan: Plan,
    detection: DetectionSection,
    complete: NDArray[np.bool_] | None = None,
) -> float:
    """Points a week the event-watched streams add to the budget (one weekly point each)."""
    return float(len(plan_events(daily, base, plan, detection, complete)))


# The per-event chart's ARL₀ holds on average over p₀'s estimation error (the unconditional
# in-control performance; Jensen et al. 2006 review why the conditional one falls short with
# small baselines): h is set for the false-alarm rate averaged over p₀'s Jeffreys posterior by a
# three-point Gauss–Hermite rule (at −√3, 0, +√3 posterior SDs; weights 1/6, 2/3, 1/6).
SPREAD_Z = (-math.sqrt(3.0), 0.0, math.sqrt(3.0))
SPREAD_WEIGHTS = (1 / 6, 2 / 3, 1 / 6)


def bcusum_design(p0: FloatArray, arl0: FloatArray) -> tuple[FloatArray, FloatArray]:
    """γ and h per stream for miss rates ``p0`` and in-control ARLs ``arl0`` (in experiences).

    The lattice design of :mod:`gapwatch.detectors.bcusum_lattice`: its Markov chain is exact
    and solved at each stream's own p₀, and one ARL curve (about a millisecond) serves every
    ARL₀ of a p₀, so a stream still filling its baseline (a new p₀ and ARL₀ on every run) costs
    milliseconds, not seconds.  Designs are kept for the next runs (a settled baseline hits).
    """
    gamma = np.empty(p0.size)
    h = np.empty(p0.size)
    for i, (p, arl) in enumerate(zip(p0.tolist(), arl0.tolist(), strict=True)):
        design = _design(float(p), max(float(arl), 1.0))
        gamma[i], h[i] = design.gamma, design.h
    return gamma, h


@functools.lru_cache(maxsize=8192)
def _design(p0: float, arl0: float) -> BernoulliDesign:
    return bernoulli_design(p0, arl0, ODDS_RATIO)


@functools.lru_cache(maxsize=8192)
def _averaged_h(p0: float, arl0: float, spread: tuple[float, ...]) -> float:
    """h of the lattice chart tuned to ``p0`` whose ARL₀ holds on average over ``spread`` (p₀'s
    posterior at the Gauss–Hermite points, weights :data:`SPREAD_WEIGHTS`).

    A thin baseline's posterior can be so wide that no limit up to ``H_MAX`` holds ARL₀ on
    average (its upper point lies past the shift the chart is tuned to): the chart then gets
    ``H_MAX``, which only a long run of misses reaches, until the baseline has more events.
    """
    try:
        return averaged_design(p0, max(arl0, 1.0), spread, SPREAD_WEIGHTS, ODDS_RATIO).h
    except ValueError:  # a baseline too uncertain to hold ARL₀ on average: the highest limit
        return H_MAX


@functools.lru_cache(maxsize=8192)
def _lattice_gamma(p0: float) -> float:
    odds = p0 / (1 - p0) * ODDS_RATIO
    d, g = lattice(bernoulli_gamma(p0, odds / (1 + odds)))
    return d / g


def _gammas(p0: FloatArray) -> FloatArray:
    """γ per stream, as ``bcusum_design`` gives it (the lattice's d/g at each stream's p₀)."""
    return np.array([_lattice_gamma(float(p)) for p in p0.tolist()])


@dataclass(frozen=True)
class EventSequences:
    """Ragged event sequences as one long table: stream (index into the plan), day, miss."""

    stream: IntArray
    day: IntArray  # days since 1970-01-01
    miss: NDArray[np.bool_]
    segment: NDArray[np.object_] | None = None  # each event's own segment (a parent reads several)

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
                       e.status = {int(Status.MISSED)} AS miss, e.segment
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
        return EventSequences(z, z, np.zeros(0, dtype=bool), np.zeros(0, dtype=object))
    wanted = pa.table(
        {
            "stream": pa.array(range(len(keys)), pa.int64()),
            "moment": [k[0] for k in keys],
            "segment": [k[1] for k in keys],
            "metric": [k[2] for k in keys],
        }
    )
    query = _events_sql(table)
    out: pa.Table
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
        np.asarray(out.column("segment").to_numpy(zero_copy_only=False), dtype=object),
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
    h_at: FloatArray | None = None  # (S, E): the threshold in force at each event (volume-following)
    arl0_at: FloatArray | None = None

    def threshold(self, r: int, c: int) -> tuple[float, float]:
        """h and ARL₀ (in experiences) in force at event ``c`` of stream ``r``."""
        if self.h_at is not None and self.arl0_at is not None:
            return float(self.h_at[r, c]), float(self.arl0_at[r, c])
        return float(self.h[r]), float(self.arl0[r])  # (no volume given: the baseline's design)


def judge_events(
    plan: EventPlan,
    seq: EventSequences,
    L: float,
    *,
    factor: FloatArray | None = None,
    judged: NDArray[np.bool_] | None = None,
    min_arl0_weeks: float = 0.0,
    volume: FloatArray | None = None,
) -> EventJudgement:
    """Run the Bernoulli CUSUM over every stream's phase-II events at once.

    ``factor`` (one per event of ``seq``) is each event's expected miss rate relative to its
    stream's p₀ (weekday, calendar, its segment for a parent stream): the event's own p is
    p₀·factor and its reference value γ the one of that p (a risk-adjusted Bernoulli CUSUM,
    Steiner, Cook, Farewell & Treasure 2000). ``judged`` leaves events out (calendar days not
    judged). ``min_arl0_weeks`` floors the in-control ARL at that many weeks of events.
    ``volume`` (one per event of ``seq``) is the stream's events a week around that event (its
    last four weeks): the in-control ARL in experiences follows it, so that a stream that grows
    (a young shop ramping up) keeps its false alarms per week, not per experience.
    """
    from scipy.stats import norm

    s = len(plan)
    end = np.array([_epoch(d) for d in plan.baseline_end], dtype=np.int64)
    start = np.array([_epoch(d) for d in plan.baseline_start], dtype=np.int64)
    phase2 = seq.day > end[seq.stream] if s else np.zeros(0, dtype=bool)
    keep = phase2 & (seq.day >= start[seq.stream]) if s else np.zeros(0, dtype=bool)
    if judged is not None:
        keep &= judged
    x, day = seq.padded(s, keep if s else None)
    weekly_rate = float(2.0 * norm.sf(L))
    if min_arl0_weeks > 0:
        weekly_rate = min(weekly_rate, 1.0 / min_arl0_weeks)
    arl0 = plan.events_per_week / weekly_rate
    p0 = plan.p0
    if volume is None:
        gamma, h = bcusum_design(p0, arl0)
    else:  # h follows the volume event by event (``_thresholds``); the baseline's is not needed
        gamma, h = _gammas(p0), np.full(s, np.nan)
    g = np.repeat(gamma[:, None], x.shape[1], axis=1)
    if factor is not None and s:
        f = np.full(x.shape, 1.0)
        counts = np.bincount(seq.stream[keep], minlength=s)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        pos = np.arange(int(keep.sum())) - starts[seq.stream[keep]]
        f[seq.stream[keep], pos] = factor[keep]
        p_t = np.clip(p0[:, None] * f, 1e-6, 0.999)
        odds = np.log(ODDS_RATIO)
        g = np.log1p((ODDS_RATIO - 1.0) * p_t) / odds
    h_at, arl_at = _thresholds(plan, seq, keep, x.shape, p0, h, arl0, volume, weekly_rate)
    stat = np.full(x.shape, np.nan)
    sig = np.zeros(x.shape, dtype=bool)
    b = np.zeros(s)
    for j in range(x.shape[1]):
        col = x[:, j]
        seen = ~np.isnan(col)
        b = np.where(seen, np.maximum(0.0, b + np.nan_to_num(col) - g[:, j]), b)
        hit = seen & (b >= h_at[:, j])
        stat[:, j] = np.where(seen, b, np.nan)
        sig[:, j] = hit
        b = np.where(hit, 0.0, b)  # restart after a signal
    return EventJudgement(stat, sig, day, gamma, h, arl0, p0, h_at, arl_at)


def _thresholds(
    plan: EventPlan,
    seq: EventSequences,
    keep: NDArray[np.bool_],
    shape: tuple[int, ...],
    p0: FloatArray,
    h: FloatArray,
    arl0: FloatArray,
    volume: FloatArray | None,
    weekly_rate: float,
) -> tuple[FloatArray, FloatArray]:
    """h and ARL₀ per (stream, event): the baseline's, or following the recent volume when given."""
    h_at = np.repeat(h[:, None], shape[1], axis=1)
    arl_at = np.repeat(arl0[:, None], shape[1], axis=1)
    if volume is None or not keep.any():
        return h_at, arl_at
    stream = seq.stream[keep]
    counts = np.bincount(stream, minlength=len(plan))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pos = np.arange(stream.size) - starts[stream]
    per_week = np.fmax(volume[keep], plan.events_per_week[stream])
    wanted = _grid_up(per_week / weekly_rate)
    spreads = _spreads(plan)
    # ARL₀ rounded up to a grid of ten steps a decade (at most 26 % more than asked): few distinct
    # (p₀, ARL₀) pairs, each Markov-chain solution shared (and cached)
    pairs, inverse = np.unique(np.stack([stream.astype(float), wanted]), axis=1, return_inverse=True)
    solved = np.array(
        [_averaged_h(float(p0[int(r)]), float(a), spreads[int(r)]) for r, a in pairs.T.tolist()]
    )
    h_at[stream, pos] = solved[inverse.reshape(-1)]
    arl_at[stream, pos] = wanted
    return h_at, arl_at


def _spreads(plan: EventPlan) -> list[tuple[float, ...]]:
    """Per stream: p₀'s Jeffreys posterior at the Gauss–Hermite points (three digits each)."""
    from scipy.stats import beta, norm

    m, n = plan.baseline_misses, plan.baseline_events
    q = norm.cdf(np.asarray(SPREAD_Z))[None, :]
    rates = beta.ppf(q, (m + 0.5)[:, None], (np.maximum(n - m, 0.0) + 0.5)[:, None])
    return [tuple(float(f"{x:.3g}") for x in np.clip(row, 1e-4, 0.6).tolist()) for row in rates]


def _grid_up(x: FloatArray) -> FloatArray:
    """Each value rounded up to 10^(k/10) (the R10 series: 1, 1.26, 1.58, 2, 2.51, …)."""
    safe = np.where(np.isfinite(x) & (x > 0), x, 1.0)
    out: FloatArray = np.round(10.0 ** (np.ceil(np.log10(safe) * 10.0 - 1e-9) / 10.0), 6)
    return out


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
                judged.threshold(r, c)[0],
                per_day[(r, d)],
                plan.baseline_start[r],
                plan.baseline_end[r],
                False,
                judged.threshold(r, c)[1],
            )
        )
    return out


def _event_factors(
    result: MonitorResult, events: EventPlan, seq: EventSequences
) -> tuple[FloatArray | None, NDArray[np.bool_] | None]:
    """Per event: its expected miss rate over its stream's baseline mean (1 without known
    variation), and whether its day is judged (calendar days without a factor are not)."""
    daily, expected, baseline = result.daily, result.expected, result.baseline
    if expected is None or daily is None or baseline is None or seq.segment is None or not seq.stream.size:
        return None, None
    row_of = {k: i for i, k in enumerate(daily.keys)}
    first = int(daily.periods[0].astype("datetime64[D]").astype(np.int64))
    col = np.clip(seq.day - first, 0, len(daily.periods) - 1)
    own = events.rows[seq.stream]
    names, code = np.unique(seq.segment.astype(str), return_inverse=True)
    pairs, inverse = np.unique(np.stack([seq.stream, code.reshape(-1)]), axis=1, return_inverse=True)
    child_of_pair = np.array(
        [
            row_of.get((events.keys[s][0], str(names[c]), events.keys[s][2]), events.rows[s])
            for s, c in pairs.T.tolist()
        ],
        dtype=np.intp,
    )
    child = child_of_pair[inverse.reshape(-1)]
    rate = expected.rate[child, col]
    fallback = expected.rate[own, col]
    rate = np.where(np.isfinite(rate) & (rate > 0), rate, fallback)
    judged = ~expected.skip[own, col]
    base = baseline[own, col] & judged
    # normalised so that the stream's baseline events average 1: p₀ stays the level
    sums = np.bincount(seq.stream, weights=np.where(base, np.nan_to_num(rate), 0.0), minlength=len(events))
    counts = np.bincount(seq.stream, weights=(base & np.isfinite(rate)).astype(float), minlength=len(events))
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(counts > 0, sums / counts, np.nan)
        factor = np.where(np.isfinite(rate) & np.isfinite(mean[seq.stream]), rate / mean[seq.stream], 1.0)
    return np.asarray(factor, dtype=float), np.asarray(judged, dtype=bool)


RECENT_DAYS = 28


def _recent_volume(daily: StreamArrays, events: EventPlan, seq: EventSequences) -> FloatArray | None:
    """Per event: its stream's events a week over the four weeks before the event's day.

    Known before the day starts (during the fact, never the future); NaN with under a week of history.
    """
    if not seq.stream.size:
        return None
    n = np.nan_to_num(daily.sums["n"][events.rows])
    csum = np.concatenate([np.zeros((n.shape[0], 1)), np.cumsum(n, axis=1)], axis=1)
    first = int(daily.periods[0].astype("datetime64[D]").astype(np.int64))
    col = np.clip(seq.day - first, 0, n.shape[1])
    lo = np.maximum(col - RECENT_DAYS, 0)
    days = col - lo
    total = csum[seq.stream, col] - csum[seq.stream, lo]
    with np.errstate(divide="ignore", invalid="ignore"):
        per_week = np.where(days >= 7, total / days * 7.0, np.nan)
    return np.asarray(per_week, dtype=float)


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
    plan = plan_streams(result.daily, result.baseline, detection, result.complete)
    events = plan_events(result.daily, result.baseline, plan, detection, result.complete)
    if not len(events):
        return result
    seq = event_sequences(con, events.keys, table)
    factor, judged_days = _event_factors(result, events, seq)
    judged = judge_events(
        events,
        seq,
        result.L,
        factor=factor,
        judged=judged_days,
        min_arl0_weeks=detection.min_arl0_weeks,
        volume=_recent_volume(result.daily, events, seq),
    )
    levels = [result.daily.level[i] for i in events.rows]
    traces = {**result.traces, **_traces(events, judged)}
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
    return dataclasses.replace(result, streams=views, signals=merged, traces=traces)


def _traces(events: EventPlan, judged: EventJudgement) -> dict[tuple[str, str, str], EventTrace]:
    """Each event-watched stream's CUSUM, as judged (its phase-II experiences in event order)."""
    out = {}
    for r, key in enumerate(events.keys):
        seen = judged.day[r] >= 0
        h = judged.h_at[r] if judged.h_at is not None else np.full(seen.size, judged.h[r])
        arl = judged.arl0_at[r] if judged.arl0_at is not None else np.full(seen.size, judged.arl0[r])
        out[key] = EventTrace(
            judged.day[r][seen],
            judged.statistic[r][seen],
            np.asarray(h[seen], dtype=float),
            np.asarray(arl[seen], dtype=float),
            judged.signal[r][seen],
            float(judged.p0[r]),
            float(judged.gamma[r]),
        )
    return out
