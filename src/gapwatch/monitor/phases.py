"""Phases: when a case accepts a sustained shift as the new normal, the stream starts over from that day.

A stream whose level moved for good (a standard change: promised lead times went up; or an
explicit "re-baseline" on its case) should not signal for ever against its old limits. The
case records a phase start (table ``phases``, written by ``quality/cases``): from that day the
stream is judged against a *new* baseline, found from that day on exactly as a new stream's
would be; before it, its old charts and signals stay as they were.

A gain is held on its own: a stream that stays better than its baseline for ``lock_in_weeks``
(its "better" signals never further apart than ``episode_days``) starts a new phase from its
first better signal, so that a return to the old, worse level is seen as the deterioration it
is (hold the gains). Only improvements are locked in this way; a stream that got worse starts
over only when a case accepts it.

Detection runs once as usual, then once more for each phase start date on the affected
moment × metric families with the phased streams' data before that date left out; the phased
streams take their periods from that date, and their signals, from the second run. Both runs
are the batch's own, so the live service (which passes the same phases) stays equal to batch.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gapwatch.monitor.arrays import ALL_SEGMENTS
from gapwatch.monitor.charts import Series, StreamView
from gapwatch.monitor.result import MonitorResult
from gapwatch.sqlport import Sql, has_tables, rows

__all__ = ["Phases", "held_gains", "merge", "read_phases", "with_phases"]

Key = tuple[str, str, str]
Phases = dict[Key, list[dt.date]]  # per stream, the days its later phases start (ascending)
Judge = Callable[[pa.Table], MonitorResult]


def read_phases(con: Sql) -> Phases:
    """The phase starts recorded by cases (none before any)."""
    if not has_tables(con, "phases"):
        return {}
    out: Phases = {}
    for r in rows(con, "SELECT DISTINCT moment, segment, metric, start FROM phases ORDER BY start"):
        out.setdefault((r["moment"], r["segment"], r["metric"]), []).append(r["start"])
    return out


def held_gains(result: MonitorResult, weeks: int, gap_days: int) -> Phases:
    """Per stream, the first day of its first improvement that lasted ``weeks`` weeks (none: 0)."""
    if weeks <= 0:
        return {}
    out: Phases = {}
    days: dict[Key, list[dt.date]] = {}
    for s in result.signals:
        if s.direction == "better":
            days.setdefault((s.moment, s.segment, s.metric), []).append(s.period)
    for key, found in days.items():
        found.sort()
        first = found[0]
        for prev, cur in itertools.pairwise(found):
            if (cur - prev).days > gap_days:
                first = cur
            if (cur - first).days >= 7 * weeks:
                out[key] = [first]
                break
    return out


def merge(*sources: Phases) -> Phases:
    """Phase starts of several sources, per stream, in order and once each."""
    out: Phases = {}
    for phases in sources:
        for key, starts in phases.items():
            out[key] = sorted(set(out.get(key, [])) | set(starts))
    return out


def _subset(table: pa.Table, keys: list[Key], start: dt.date) -> pa.Table:
    """The families of ``keys``, with the data of the phased streams before ``start`` left out."""
    families = {(m, k) for m, _, k in keys}
    fam = pc.is_in(
        pc.binary_join_element_wise(table.column("moment"), table.column("metric"), "\x1f"),
        value_set=pa.array([f"{m}\x1f{k}" for m, k in families]),
    )
    phased = pa.array(np.zeros(table.num_rows, dtype=bool))
    for m, s, k in keys:
        same = pc.and_(pc.equal(table.column("moment"), m), pc.equal(table.column("metric"), k))
        if s != ALL_SEGMENTS:  # a moment's parent is its segments summed: all of them start over
            same = pc.and_(same, pc.equal(table.column("segment"), s))
        phased = pc.or_(phased, same)
    early = pc.less(table.column("period"), pa.scalar(start, pa.date32()))
    return table.filter(pc.and_(fam, pc.invert(pc.and_(phased, early))))


def _splice(old: StreamView, new: StreamView, start: dt.date) -> StreamView:
    """The old view's periods before ``start``, the new one's from it (the new one whole if they differ)."""
    if old.resolution != new.resolution or old.periods != new.periods:
        return dataclasses.replace(new, note=f"{new.note} (new phase from {start})")
    from_new = np.array([p >= start for p in old.periods], dtype=bool)
    charts: dict[str, Series] = {}
    for name in set(old.charts) | set(new.charts):
        a, b = old.charts.get(name), new.charts.get(name)
        if a is None or b is None:
            either = b if b is not None else a
            assert either is not None
            charts[name] = either
            continue
        charts[name] = Series(
            b.chart,
            np.where(from_new, b.statistic, a.statistic),
            np.where(from_new, b.center, a.center),
            np.where(from_new, b.lcl, a.lcl),
            np.where(from_new, b.ucl, a.ucl),
            np.where(from_new, b.flags, a.flags),
        )
    return dataclasses.replace(
        new,
        sums=old.sums,
        baseline=old.baseline | new.baseline,
        charts=charts,
        note=f"{new.note} (new phase from {start}; before it, the old limits)",
    )


def with_phases(table: pa.Table, result: MonitorResult, phases: Phases, judge: Judge) -> MonitorResult:
    """``result`` with every phased stream judged from its phase start against its new baseline."""
    known = {v.key for v in result.streams}
    by_day: dict[dt.date, list[Key]] = {}
    for key, starts in phases.items():
        if key in known:
            for d in starts:
                by_day.setdefault(d, []).append(key)
    views = {v.key: v for v in result.streams}
    signals = list(result.signals)
    traces = dict(result.traces)
    for start in sorted(by_day):
        keys = by_day[start]
        again = judge(_subset(table, keys, start))
        fresh = {v.key: v for v in again.streams}
        day = (start - dt.date(1970, 1, 1)).days
        for key in keys:
            if key not in fresh:
                continue
            views[key] = _splice(views[key], fresh[key], start)
            signals = [s for s in signals if (s.moment, s.segment, s.metric) != key or s.period < start]
            signals += [s for s in again.signals_of(key) if s.period >= start]
            old, new = traces.pop(key, None), again.traces.get(key)
            if new is not None:  # a per-event chart in the new phase: the old one's events before it
                traces[key] = old.before(day).then(new.since(day)) if old is not None else new.since(day)
            elif old is not None:
                traces[key] = old.before(day)
    signals.sort(key=lambda s: (s.period, s.moment, s.metric, s.segment, s.chart))
    streams = [views[v.key] for v in result.streams]
    return dataclasses.replace(result, streams=streams, signals=signals, traces=traces)


def phase_keys(phases: Phases) -> set[Key]:
    """Streams with at least one later phase."""
    return {k for k, v in phases.items() if v}


def describe(phases: Phases) -> dict[str, Any]:
    """JSON-ready: stream id → phase starts."""
    return {":".join(k): [d.isoformat() for d in v] for k, v in phases.items()}
