"""Comparable detector state: the live service's, the stored tables', and a batch recomputation's.

A :class:`StateSnapshot` is one workspace's detection state in the batch's own row format:
``stream_periods`` rows (statistics and chart points per stream and period) and ``signals``
rows, sorted, with the last closed day. Three sources give one:

* :func:`live_state_snapshot` — the in-memory state of a running service (its
  :class:`~gapwatch.live.monitor.LiveMonitor`, or the ``Runtime`` holding one);
* :func:`stored_state_snapshot` — what the service wrote to the store (readable after it
  stopped or was killed, on any connection to the file);
* :func:`batch_state_snapshot` — ``gapwatch detect``'s recomputation from ``experiences``,
  with the same closed day, written nowhere.

:func:`compare_states` lists the differences (none means equal): keys, counts, flags and
labels exactly; floating-point values exactly with ``rtol=0`` (on one store, the live and the
batch path agree to the bit on closed periods; on the open day to rounding: ``open_rtol``),
else to ``rtol``. Two *different* stores holding the same events in another row order (a
replay beside a file ingest) agree only to rounding: DuckDB's ``SUM`` of doubles adds in
storage order (and, on large tables, in a thread-dependent order).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gapwatch.config.schema import WorkspaceConfig
from gapwatch.live.clock import ServiceClock
from gapwatch.live.store import PERIOD_SCHEMA, views_table
from gapwatch.monitor.result import MonitorResult
from gapwatch.monitor.store import signals_table

__all__ = [
    "StateSnapshot",
    "batch_state_snapshot",
    "compare_states",
    "live_state_snapshot",
    "snapshot_of",
    "stored_state_snapshot",
]

PERIOD_KEYS = ("moment", "segment", "metric", "period")
SIGNAL_KEYS = ("moment", "segment", "metric", "period", "chart", "rule")


@dataclass(frozen=True)
class StateSnapshot:
    """Detection state as sorted ``stream_periods`` and ``signals`` rows."""

    closed_through: dt.date | None
    periods: pa.Table
    signals: pa.Table

    def closed_only(self) -> StateSnapshot:
        """Only closed periods (a week is closed when its last day is) and non-provisional signals."""
        return self._part(closed=True)

    def open_only(self) -> StateSnapshot:
        """Only open periods (today's, this week's) and provisional signals."""
        return self._part(closed=False)

    def _part(self, *, closed: bool) -> StateSnapshot:
        if self.closed_through is None:
            if closed:
                return StateSnapshot(None, self.periods.slice(0, 0), self.signals.slice(0, 0))
            return self
        weekly = (
            pc.equal(self.periods.column("resolution"), "week")
            .fill_null(False)
            .to_numpy(zero_copy_only=False)
        )
        start = self.periods.column("period").to_numpy(zero_copy_only=False).astype("datetime64[D]")
        end = start + np.where(weekly, 6, 0).astype("timedelta64[D]")
        done = end <= np.datetime64(self.closed_through, "D")
        provisional = self.signals.column("provisional")
        return StateSnapshot(
            self.closed_through,
            self.periods.filter(done if closed else ~done),
            self.signals.filter(pc.invert(provisional) if closed else provisional),
        )


def _sorted(table: pa.Table, keys: tuple[str, ...]) -> pa.Table:
    return table.sort_by([(k, "ascending") for k in keys])


def snapshot_of(result: MonitorResult, closed: dt.date | None) -> StateSnapshot:
    """The snapshot of a monitor result (batch or live)."""
    periods = views_table([(v, None) for v in result.streams])
    return StateSnapshot(
        closed, _sorted(periods, PERIOD_KEYS), _sorted(signals_table(result.signals), SIGNAL_KEYS)
    )


def live_state_snapshot(live: Any) -> StateSnapshot:
    """The running service's state; ``live`` is a ``LiveMonitor`` or a ``Runtime`` (``.live``)."""
    monitor = getattr(live, "live", live)
    return snapshot_of(monitor.result(), monitor.closed_through)


def stored_state_snapshot(con: Any, closed: dt.date | None = None) -> StateSnapshot:
    """What the service wrote: the store's ``stream_periods`` and ``signals`` tables."""
    periods = con.sql("SELECT * FROM stream_periods").to_arrow_table()
    periods = pa.table(
        {f.name: periods.column(f.name).cast(f.type) for f in PERIOD_SCHEMA}, schema=PERIOD_SCHEMA
    )
    signals = con.sql("SELECT * FROM signals").to_arrow_table()
    schema = signals_table([]).schema
    signals = pa.table({f.name: signals.column(f.name).cast(f.type) for f in schema}, schema=schema)
    return StateSnapshot(closed, _sorted(periods, PERIOD_KEYS), _sorted(signals, SIGNAL_KEYS))


def batch_state_snapshot(
    target: Any,
    config: WorkspaceConfig,
    *,
    clock: ServiceClock | None = None,
    closed: dt.date | None = None,
) -> StateSnapshot:
    """``gapwatch detect``'s recomputation on ``target`` (a store or a DuckDB connection), stored nowhere.

    The closed day is ``closed`` when given, else the ``clock``'s rule (default: event time, no grace).
    """
    from gapwatch.monitor.run import detect_store, horizon

    reader = target.reader() if hasattr(target, "reader") else target
    stored = horizon(reader)
    clock = clock or ServiceClock("event", config.workspace.timezone)
    closed = closed or clock.closed_through(stored["last_event"])
    if closed is None or stored["first_period"] is None:
        return snapshot_of(MonitorResult([], [], 3.0, dt.date.min, None, None), closed)
    result = detect_store(reader, config.detection, closed=closed, stored=stored)
    return snapshot_of(result, closed)


def _column_diff(name: str, a: pa.ChunkedArray, b: pa.ChunkedArray, rtol: float) -> list[int]:
    if pa.types.is_floating(a.type):
        x = a.to_numpy(zero_copy_only=False).astype(float)
        y = b.to_numpy(zero_copy_only=False).astype(float)
        close = (x == y) if rtol == 0 else np.isclose(x, y, rtol=rtol, atol=1e-12)
        same = close | (np.isnan(x) & np.isnan(y))
    else:
        x_list, y_list = a.to_pylist(), b.to_pylist()
        same = np.array([u == v for u, v in zip(x_list, y_list, strict=True)], dtype=bool)
    return np.flatnonzero(~same).tolist()


def _table_diff(label: str, a: pa.Table, b: pa.Table, keys: tuple[str, ...], rtol: float) -> list[str]:
    if a.num_rows != b.num_rows:
        return [f"{label}: {a.num_rows} rows vs {b.num_rows}"]
    out: list[str] = []
    for name in a.column_names:
        for i in _column_diff(name, a.column(name), b.column(name), rtol)[:5]:
            where = "/".join(str(a.column(k)[i].as_py()) for k in keys)
            out.append(
                f"{label} {where} {name}: {a.column(name)[i].as_py()!r} vs {b.column(name)[i].as_py()!r}"
            )
    return out


def compare_states(
    a: StateSnapshot,
    b: StateSnapshot,
    *,
    closed_only: bool = False,
    rtol: float = 1e-9,
    open_rtol: float | None = None,
) -> list[str]:
    """Differences between two snapshots (empty: the same state). ``closed_only`` drops open periods.

    With ``open_rtol``, closed periods are compared to ``rtol`` and open ones (and provisional
    signals) to ``open_rtol``: the live service adds each request's sums to the open day, which
    agrees with the batch's one-pass sum to rounding only, and re-reads a day whole when it
    closes. The last closed day is compared when both snapshots know it (a stored one does not).
    """
    if closed_only:
        a, b = a.closed_only(), b.closed_only()
    if open_rtol is not None and not closed_only:
        return compare_states(a, b, closed_only=True, rtol=rtol) + compare_states(
            a.open_only(), b.open_only(), rtol=open_rtol
        )
    known = a.closed_through is not None and b.closed_through is not None  # stored tables do not say
    out = (
        [f"closed through {a.closed_through} vs {b.closed_through}"]
        if known and a.closed_through != b.closed_through
        else []
    )
    out += _table_diff("stream_periods", a.periods, b.periods, PERIOD_KEYS, rtol)
    out += _table_diff("signals", a.signals, b.signals, SIGNAL_KEYS, rtol)
    return out
