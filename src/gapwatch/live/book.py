"""The live service's stream × day sufficient statistics, kept in memory and updated per event.

:class:`DailyBook` holds, for every (moment, segment, metric) stream and every day, the
additive columns of the batch aggregate (n, missed, exceeded, Σgap_norm, Σgap_norm², Σvalue,
Σvalue²) and the data horizon (first and last day, latest event). Every figure comes from
the *same* aggregate the batch runs (the Ibis spec ``stream_period_stats``, compiled once
to SQL), in two ways:

* **Partial sums** (:func:`aggregate_rows`): a request's accepted experiences are aggregated
  alone and *added* to their (stream, day) cells — the cost of a request does not grow with
  the day. Counts are exact; a sum of partial sums of doubles may differ from the batch's
  one-pass sum in the last bits, so this is used for the open days only, whose points are
  provisional anyway.
* **Whole cells** (:func:`read_cells`, :func:`read_days`): every stored experience of the
  cells, aggregated in storage order as the batch's scan does, replacing what was there —
  for a late event's closed day, and for each day when it closes. Closed periods then hold
  exactly, to the bit, what ``gapwatch detect`` computes.

:meth:`DailyBook.long_table` hands the monitor exactly what ``aggregate`` would have read.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from gapwatch.metrics import STREAM_KEYS, SUM_COLUMNS, experiences_table, stream_period_stats

__all__ = [
    "EMPTY_ROWS",
    "NEW_ROWS",
    "ROW_COLUMNS",
    "DailyBook",
    "Touched",
    "aggregate_rows",
    "aggregate_sql",
    "read_all",
    "read_cells",
    "read_days",
]

Key = tuple[str, str, str]
NEW_ROWS = "__gw_live_new"
EPOCH = dt.date(1970, 1, 1)
#: The experience columns the aggregate reads (what a request hands the live monitor).
ROW_COLUMNS = ("moment", "segment", "metric", "period", "status", "gap_norm", "value", "occurred_at")
_COLUMNS = ", ".join(ROW_COLUMNS)
EMPTY_ROWS = pa.schema(
    [
        *(pa.field(k, pa.string()) for k in STREAM_KEYS),
        pa.field("period", pa.date32()),
        pa.field("status", pa.int8()),
        pa.field("gap_norm", pa.float64()),
        pa.field("value", pa.float64()),
        pa.field("occurred_at", pa.timestamp("us", "UTC")),
    ]
).empty_table()
Horizon = tuple[int | None, int | None, dt.datetime | None]  # first, last day (epoch days), latest event


@cache
def aggregate_sql(table: str) -> str:
    """The batch aggregate (one Ibis expression) compiled once to DuckDB SQL over ``table``."""
    import ibis

    return str(ibis.to_sql(stream_period_stats(experiences_table(table)), dialect="duckdb"))


def _horizon(con: Any, table: str) -> Horizon:
    row = con.execute(
        "SELECT datediff('day', DATE '1970-01-01', min(period)),"
        f" datediff('day', DATE '1970-01-01', max(period)), max(occurred_at) FROM {table}"
    ).fetchall()[0]
    return row[0], row[1], row[2]


def read_all(con: Any) -> tuple[pa.Table, Horizon]:
    """The whole store's aggregate and horizon (start-up: the batch's own recomputation)."""
    return con.sql(aggregate_sql("experiences")).to_arrow_table(), _horizon(con, "experiences")


def aggregate_rows(con: Any, rows: pa.Table) -> tuple[pa.Table, Horizon]:
    """The batch aggregate of ``rows`` alone (just-stored experiences' ``ROW_COLUMNS``), and their horizon."""
    con.register(NEW_ROWS, rows.select(list(ROW_COLUMNS)))
    try:
        return con.sql(aggregate_sql(NEW_ROWS)).to_arrow_table(), _horizon(con, NEW_ROWS)
    finally:
        con.unregister(NEW_ROWS)


def read_days(con: Any, lo: int, hi: int) -> pa.Table:
    """Whole cells: the batch aggregate of every stored experience of epoch days ``lo..hi``."""
    return _read_whole(
        con,
        "period BETWEEN $lo AND $hi",
        {"lo": EPOCH + dt.timedelta(days=lo), "hi": EPOCH + dt.timedelta(days=hi)},
    )


def read_cells(con: Any, cells: pa.Table) -> pa.Table:
    """Whole cells: the batch aggregate of every stored experience of the (stream, day) ``cells``."""
    if not cells.num_rows:
        return cells
    days = sorted(pc.unique(cells.column("period")).to_pylist())
    # A plain filter on the days, not a join: DuckDB then adds each cell's rows in storage order,
    # as the batch's scan does (a hash join may hand them over in another order: other last bits).
    # BETWEEN lets zone maps skip the row groups of other days.
    agg = _read_whole(
        con,
        "period BETWEEN $lo AND $hi AND list_contains($days, period)",
        {"days": days, "lo": days[0], "hi": days[-1]},
    )
    return agg.filter(pc.is_in(_cell_keys(agg), value_set=_cell_keys(cells)))


def _read_whole(con: Any, where: str, params: dict[str, Any]) -> pa.Table:
    pick = f"WITH {NEW_ROWS} AS (SELECT {_COLUMNS} FROM experiences WHERE {where}) "
    return con.sql(pick + aggregate_sql(NEW_ROWS), params=params).to_arrow_table()


def _cell_keys(table: pa.Table) -> pa.ChunkedArray:
    period = pc.cast(table.column("period"), pa.string())
    return pc.binary_join_element_wise(*(table.column(k) for k in STREAM_KEYS), period, "|")


@dataclass
class Touched:
    """What one addition changed: streams (rows), days, and whether the shape grew."""

    rows: set[int] = field(default_factory=set)
    days: dict[int, set[int]] = field(default_factory=dict)  # row -> epoch days
    new_streams: bool = False
    new_days: bool = False

    def update(self, other: Touched) -> None:
        """Add what ``other`` touched."""
        self.rows |= other.rows
        for row, days in other.days.items():
            self.days.setdefault(row, set()).update(days)
        self.new_streams |= other.new_streams
        self.new_days |= other.new_days


class DailyBook:
    """Additive statistics per stream (rows) and day (columns), growing as data arrive."""

    def __init__(self) -> None:
        self.keys: list[Key] = []
        self.index: dict[Key, int] = {}
        self.origin = 0  # epoch day of column 0
        self.sums: dict[str, NDArray[np.float64]] = {c: np.full((0, 0), np.nan) for c in SUM_COLUMNS}
        self.first: int | None = None  # epoch days: the horizon over every stored experience
        self.last: int | None = None
        self.last_event: dt.datetime | None = None

    @property
    def first_day(self) -> dt.date | None:
        return None if self.first is None else EPOCH + dt.timedelta(days=self.first)

    @property
    def last_day(self) -> dt.date | None:
        return None if self.last is None else EPOCH + dt.timedelta(days=self.last)

    def add(self, agg: pa.Table, horizon: Horizon, *, partial: bool = False) -> Touched:
        """Put (stream, day) cells of the batch aggregate into the book.

        Whole cells replace what was there; ``partial`` ones (:func:`aggregate_rows` of new
        experiences) are added to it. A sum that is null in one part (no value to add) leaves
        the other, as SQL's ``SUM`` over the whole cell would.
        """
        touched = Touched()
        lo, hi, latest = horizon
        if lo is not None and hi is not None:
            touched.new_days = self.first is None or lo < self.first or hi > (self.last or hi)
            self.first = lo if self.first is None else min(self.first, lo)
            self.last = hi if self.last is None else max(self.last, hi)
        if latest is not None and (self.last_event is None or latest > self.last_event):
            self.last_event = latest
        if agg.num_rows == 0:
            return touched
        keys = list(zip(*(agg.column(k).to_pylist() for k in STREAM_KEYS), strict=True))
        days = np.asarray(
            agg.column("period").cast(pa.int32()).to_numpy(zero_copy_only=False), dtype=np.int64
        )
        rows = np.array([self._row(k, touched) for k in keys], dtype=np.intp)
        self._fit(int(days.min()), int(days.max()))
        cols = (days - self.origin).astype(np.intp)
        for name in SUM_COLUMNS:
            value = np.asarray(agg.column(name).to_numpy(zero_copy_only=False), dtype=float)
            if partial:
                old = self.sums[name][rows, cols]
                value = np.where(np.isnan(old), value, np.where(np.isnan(value), old, old + value))
            self.sums[name][rows, cols] = value
        for r, d in zip(rows.tolist(), days.tolist(), strict=True):
            touched.rows.add(r)
            touched.days.setdefault(r, set()).add(d)
        return touched

    def _row(self, key: Key, touched: Touched) -> int:
        row = self.index.get(key)
        if row is None:
            row = self.index[key] = len(self.keys)
            self.keys.append(key)
            touched.new_streams = True
        return row

    def _fit(self, lo: int, hi: int) -> None:
        """Grow the matrices to hold rows for every key and columns for days ``lo..hi``."""
        s_cap, t_cap = self.sums["n"].shape
        if not t_cap:
            self.origin = lo
        start = min(self.origin, lo)
        end = max(self.origin + t_cap, hi + 1)
        rows_needed = len(self.keys)
        if start == self.origin and end <= self.origin + t_cap and rows_needed <= s_cap:
            return
        new_t = max(end - start, 2 * t_cap if start == self.origin else end - start)
        new_s = max(rows_needed, 2 * s_cap, 8)
        shift = self.origin - start
        for name, mat in self.sums.items():
            grown = np.full((new_s, new_t), np.nan)
            grown[: mat.shape[0], shift : shift + mat.shape[1]] = mat
            self.sums[name] = grown
        self.origin = start

    def first_seen(self, row: int) -> int | None:
        """Epoch day of the stream's first experience."""
        seen = np.flatnonzero(np.isfinite(self.sums["n"][row]))
        return int(seen[0]) + self.origin if seen.size else None

    def long_table(self, rows: list[int] | None = None) -> pa.Table:
        """The aggregate's long rows (one per stream and day seen) for ``rows`` (default: all)."""
        idx = np.arange(len(self.keys), dtype=np.intp) if rows is None else np.asarray(rows, dtype=np.intp)
        n = self.sums["n"][idx] if idx.size else np.zeros((0, 0))
        r, c = np.nonzero(np.isfinite(n))
        keys = [self.keys[i] for i in idx[r].tolist()]
        out: dict[str, Any] = {
            k: pa.array([key[j] for key in keys], pa.string()) for j, k in enumerate(STREAM_KEYS)
        }
        out["period"] = pa.array((c + self.origin).astype(np.int32), pa.int32()).cast(pa.date32())
        for name in SUM_COLUMNS:
            out[name] = pa.array(self.sums[name][idx][r, c], pa.float64())
        return pa.table(out)
