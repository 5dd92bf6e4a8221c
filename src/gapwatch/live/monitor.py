"""Incremental detection: the live service judges the events it stored since its last run.

A batch is just a big live request; the live path is just a small batch (DESIGN.md). The
service keeps the batch aggregate's stream × day sums in memory (:class:`DailyBook`), adds
the newly stored experiences to them, and re-judges with the batch's own detection step
(:func:`gapwatch.monitor.run.detect_all`), so every closed period gets exactly what
``gapwatch detect`` would compute on the same store at that moment (the open day the same
to rounding; the runtime runs this as deferred work on its writer, ``serve/runtime.py``):

* **The request's own rows.** Each request hands over the experiences it stored; their
  aggregate is added to the open days' cells (the cost does not grow with the day). A late
  event's closed day, and every day when it closes, is re-read whole from the store by the
  batch's own aggregate, so closed periods are exactly the batch's (:mod:`live_book`).
* **Touched streams only.** Charts are per stream once the limit multiplier L is known, so
  a request whose events land in streams past their baseline (phase II, limits frozen) and
  in days already on the calendar re-judges just those streams (with their moment's parent
  and sibling segments) at the workspace's L. The open day's p / Laney p′ point is judged
  with the n seen so far and its signals are provisional; the EWMA advances only on closed
  days; per-event CUSUMs judge each experience. An event for a closed day (flagged ``late``
  by ingest) re-judges its streams from that day on.
* **Everything** otherwise: when a day closes (the clock, :mod:`gapwatch.live.clock`),
  the calendar grows, a stream is new, or an event lands in a stream's baseline window
  (its plan, and with it L, may change).
* Only rows that differ are written to ``stream_periods`` and ``signals``
  (:mod:`gapwatch.live.store`); the caller then raises alerts from new signals.
* On start-up the state is rebuilt from the store by the batch's own aggregate, so a
  restart (even after SIGKILL) gives the batch recomputation (:mod:`gapwatch.live.state`).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from gapwatch.config.schema import WorkspaceConfig
from gapwatch.live.book import DailyBook, Touched, aggregate_rows, read_all, read_cells, read_days
from gapwatch.live.clock import ServiceClock
from gapwatch.live.store import Changes, diff, write_all, write_changes
from gapwatch.monitor.charts import Signal, StreamView
from gapwatch.monitor.result import MonitorResult
from gapwatch.monitor.run import detect_all

__all__ = ["LiveMonitor", "LiveUpdate"]

Key = tuple[str, str, str]
EPOCH = dt.date(1970, 1, 1)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LiveUpdate:
    """What one request (or clock tick) did: ``mode`` is "none", "streams", "all", "rebuild" or "failed"."""

    mode: str
    streams: int = 0
    rows_written: int = 0
    signals_changed: int = 0
    seconds: float = 0.0


def _stored(con: Any) -> int:
    """Experiences in the store (a count DuckDB reads off its metadata, without a scan)."""
    return int(con.execute("SELECT count(*) FROM experiences").fetchall()[0][0])


class LiveMonitor:
    """The live detection state of one workspace; every method runs on the service's writer.

    Parameters
    ----------
    config
        The workspace configuration (detection settings, time zone).
    clock
        When periods close (wall clock or event time, with a grace delay).
    """

    def __init__(self, config: WorkspaceConfig, clock: ServiceClock) -> None:
        self.config = config
        self.clock = clock
        self.book = DailyBook()
        self.stored = 0  # experiences in the store (to notice rows written around the live path)
        self.closed: dt.date | None = None
        self.L = 3.0
        self.views: dict[Key, StreamView] = {}
        self.signals: dict[Key, list[Signal]] = {}
        self.updates: dict[str, int] = {"none": 0, "streams": 0, "all": 0, "rebuild": 0, "failed": 0}
        self._stale = False
        self._lock = threading.Lock()

    @classmethod
    def start(cls, store: Any, config: WorkspaceConfig, clock: ServiceClock) -> LiveMonitor:
        """Rebuild the state from the store (the batch's aggregate) and write both tables whole."""
        live = cls(config, clock)
        with store.transaction() as con:
            live._rebuild(con)
        return live

    @property
    def closed_through(self) -> dt.date | None:
        """The last closed day (events at or before it are stored flagged ``late``)."""
        return self.closed

    def apply(self, store: Any, stored: pa.Table | None) -> LiveUpdate:
        """Judge the experiences a request just stored (``stored``: their ``ROW_COLUMNS``).

        The events are already durable: should judging them fail, the error is logged and the
        state is rebuilt from the store on the next request, so nothing is judged twice or lost.
        """
        started = time.perf_counter()
        try:
            with store.transaction() as con:
                if self._stale:
                    self._rebuild(con)
                    return LiveUpdate("rebuild", len(self.views), seconds=time.perf_counter() - started)
                touched = self._take(con, stored) if stored is not None and stored.num_rows else Touched()
                if _stored(con) != self.stored:  # rows written around the live path: start over
                    log.warning("experiences changed outside the live path; rebuilding the detector state")
                    self._rebuild(con)
                    return LiveUpdate("rebuild", len(self.views), seconds=time.perf_counter() - started)
                return self._update(con, touched, started)
        except Exception:
            log.exception("incremental detection failed; the state is rebuilt from the store next time")
            self._stale = True
            self.updates["failed"] += 1
            return LiveUpdate("failed", seconds=time.perf_counter() - started)

    def rebuild(self, store: Any) -> None:
        """Recompute the whole state from the store (after a batch was written, e.g. a file)."""
        with store.transaction() as con:
            self._rebuild(con)

    def tick(self, store: Any) -> LiveUpdate:
        """Close what the clock says is closed (the wall clock's midnight, without any event)."""
        return self.apply(store, None)

    def _take(self, con: Any, stored: pa.Table) -> Touched:
        """Add a request's rows: partial sums on open days, whole cells for closed (late) ones."""
        self.stored += stored.num_rows
        agg, horizon = aggregate_rows(con, stored)
        if self.closed is None:
            return self.book.add(agg, horizon, partial=True)
        late = pc.less_equal(agg.column("period"), pa.scalar(self.closed, pa.date32()))
        touched = self.book.add(agg.filter(pc.invert(late)), horizon, partial=True)
        if pc.any(late).as_py():
            touched.update(self.book.add(read_cells(con, agg.filter(late)), (None, None, None)))
        return touched

    def _rebuild(self, con: Any) -> None:
        self.book = DailyBook()
        self.book.add(*read_all(con))
        self.stored = _stored(con)
        self.closed = self.clock.closed_through(self.book.last_event)
        result = self._detect(con, None) if self.book.first is not None else None
        write_all(con, result.streams if result else [], result.signals if result else [])
        self._adopt(result or MonitorResult([], [], 3.0, dt.date.min, None, None), full=True)
        self._stale = False
        self.updates["rebuild"] += 1

    def _update(self, con: Any, touched: Touched, started: float) -> LiveUpdate:
        closed = self.clock.closed_through(self.book.last_event)
        everything = (
            touched.new_streams or touched.new_days or closed != self.closed or self._in_baseline(touched)
        )
        if self.book.first is None or not (everything or touched.rows):
            self.updates["none"] += 1
            return LiveUpdate("none", seconds=time.perf_counter() - started)
        self._close_days(con, closed)
        rows = None if everything else self._siblings(touched.rows)
        result = self._detect(con, rows, None if everything else self.L)
        changes = self._changes(result, everything)
        write_changes(con, changes)
        self._adopt(result, full=everything)
        mode = "all" if everything else "streams"
        self.updates[mode] += 1
        return LiveUpdate(
            mode, len(result.streams), changes.rows(), len(changes.signals), time.perf_counter() - started
        )

    def _close_days(self, con: Any, closed: dt.date | None) -> None:
        """Days that close now are re-read whole: their cells become exactly the batch's."""
        moved = closed is not None and (self.closed is None or closed > self.closed)
        if moved and closed is not None and self.book.first is not None:
            lo = self.book.first if self.closed is None else (self.closed - EPOCH).days + 1
            hi = (closed - EPOCH).days
            if lo <= hi:
                self.book.add(read_days(con, lo, hi), (None, None, None))
        self.closed = closed

    def _detect(self, con: Any, rows: list[int] | None, L: float | None = None) -> MonitorResult:
        closed = self.closed or (self.clock.now().date() - dt.timedelta(days=1))
        return detect_all(
            con,
            self.book.long_table(rows),
            self.config.detection,
            closed=closed,
            first=self.book.first_day,
            last=self.book.last_day,
            L=L,
        )

    def _in_baseline(self, touched: Touched) -> bool:
        """Does an event fall in its stream's baseline window (so plans, and L, may change)?"""
        detection = self.config.detection
        span = detection.baseline_days
        fixed = (detection.baseline_start - EPOCH).days if detection.baseline_start else None
        for row, days in touched.days.items():
            start = fixed if fixed is not None else self.book.first_seen(row)
            if start is not None and any(start <= d < start + span for d in days):
                return True  # (a late event before a stream's first day moves its window: caught here too)
        return False

    def _siblings(self, rows: set[int]) -> list[int]:
        """``rows`` with every other segment of their moment (the parent stream sums them all)."""
        groups = {(self.book.keys[r][0], self.book.keys[r][2]) for r in rows}
        return [i for i, k in enumerate(self.book.keys) if (k[0], k[2]) in groups]

    def _by_key(self, signals: list[Signal]) -> dict[Key, list[Signal]]:
        out: dict[Key, list[Signal]] = {}
        for s in signals:
            out.setdefault((s.moment, s.segment, s.metric), []).append(s)
        return out

    def _changes(self, result: MonitorResult, everything: bool) -> Changes:
        changes = diff(self.views, self.signals, result.streams, self._by_key(result.signals))
        if everything:  # a stream the new result no longer has (never expected: keys only grow)
            for key in set(self.views) - {v.key for v in result.streams}:
                changes.signals.setdefault(key, [])
        return changes

    def _adopt(self, result: MonitorResult, *, full: bool) -> None:
        with self._lock:
            new_signals = self._by_key(result.signals)
            if full:
                self.views = {v.key: v for v in result.streams}
                self.signals = new_signals
                self.L = result.L
                return
            for view in result.streams:
                self.views[view.key] = view
                self.signals[view.key] = new_signals.get(view.key, [])

    def result(self) -> MonitorResult:
        """The whole live state as a monitor result (what a batch run at this moment returns)."""
        with self._lock:
            views = list(self.views.values())
            signals = [s for sigs in self.signals.values() for s in sigs]
        signals.sort(key=lambda s: (s.period, s.moment, s.metric, s.segment, s.chart))
        closed = self.closed or dt.date.min
        return MonitorResult(views, signals, self.L, closed, self.book.first_day, self.book.last_day)
