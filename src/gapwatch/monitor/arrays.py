"""Streams as arrays: the aggregate's long rows become (streams, periods) matrices.

Every additive column of the aggregate (n, missed, …, Σvalue²) becomes one matrix with NaN
where a stream saw nothing that period.  Because the columns are sums, a parent stream
(the moment as a whole) is the sum of its segments and a week the sum of its days.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from gapwatch.metrics import STREAM_KEYS, SUM_COLUMNS

__all__ = ["ALL_SEGMENTS", "StreamArrays", "from_aggregate", "to_weeks", "with_parents"]

FloatArray = NDArray[np.float64]
ALL_SEGMENTS = "*"  # segment label of a moment x metric parent stream


@dataclass(frozen=True)
class StreamArrays:
    """Additive statistics per stream (rows) and period (columns).

    ``keys[i]`` is (moment, segment, metric); ``level[i]`` is "moment" for a stream that
    watches the moment as a whole and "segment" for one segment under it.  ``periods`` are
    the first days of each period; ``days`` is 1 (daily) or 7 (weekly).
    """

    keys: list[tuple[str, str, str]]
    level: list[str]
    periods: NDArray[np.datetime64]
    sums: dict[str, FloatArray]
    days: int = 1

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.keys), len(self.periods)

    def period_end(self) -> NDArray[np.datetime64]:
        """Last day of each period."""
        return self.periods + np.timedelta64(self.days - 1, "D")

    def dates(self) -> list[dt.date]:
        return [d.item() for d in self.periods.astype("datetime64[D]")]

    def take(self, rows: NDArray[np.intp]) -> StreamArrays:
        """The streams at ``rows``, in that order."""
        return replace(
            self,
            keys=[self.keys[i] for i in rows],
            level=[self.level[i] for i in rows],
            sums={k: v[rows] for k, v in self.sums.items()},
        )


def from_aggregate(
    table: pa.Table, first: dt.date | None = None, last: dt.date | None = None
) -> StreamArrays:
    """Pivot the long aggregate (one row per stream and day) into daily matrices."""
    keys, rows = _stream_index(table)
    # date32 is days since the epoch: read as integers, no per-row date objects
    days = np.asarray(
        table.column("period").combine_chunks().cast(pa.int32()).to_numpy(zero_copy_only=False),
        dtype=np.int64,
    )
    lo = np.datetime64(first, "D") if first else np.datetime64(int(days.min()) if days.size else 0, "D")
    hi = np.datetime64(last, "D") if last else (np.datetime64(int(days.max()), "D") if days.size else lo)
    periods = np.arange(lo, hi + np.timedelta64(1, "D"), dtype="datetime64[D]")
    cols_idx = (days - lo.astype(np.int64)).astype(np.intp)
    keep = (cols_idx >= 0) & (cols_idx < len(periods))
    sums: dict[str, FloatArray] = {}
    for name in SUM_COLUMNS:
        mat = np.full((len(keys), len(periods)), np.nan)
        values = np.asarray(table.column(name).combine_chunks().to_numpy(zero_copy_only=False), dtype=float)
        mat[rows[keep], cols_idx[keep]] = values[keep]
        sums[name] = mat
    return StreamArrays(keys, ["segment"] * len(keys), periods, sums)


def _stream_index(table: pa.Table) -> tuple[list[tuple[str, str, str]], NDArray[np.intp]]:
    """Sorted distinct (moment, segment, metric) keys and each row's index into them (vectorised)."""
    codes, names = [], []
    for k in STREAM_KEYS:
        enc = pc.dictionary_encode(table.column(k)).combine_chunks()
        names.append(enc.dictionary.to_pylist())
        codes.append(np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64))
    combined = (codes[0] * len(names[1]) + codes[1]) * len(names[2]) + codes[2]
    present = np.zeros(len(names[0]) * len(names[1]) * len(names[2]), dtype=bool)
    present[combined] = True  # a dense table of codes: no sort of the rows
    uniq = np.flatnonzero(present)
    dense = np.cumsum(present) - 1
    inverse = dense[combined]
    raw = [
        (
            names[0][c // (len(names[1]) * len(names[2]))],
            names[1][(c // len(names[2])) % len(names[1])],
            names[2][c % len(names[2])],
        )
        for c in uniq.tolist()
    ]
    order = sorted(range(len(raw)), key=raw.__getitem__)
    rank = np.empty(len(raw), dtype=np.intp)
    rank[order] = np.arange(len(raw))
    return [raw[i] for i in order], rank[inverse.reshape(-1)]


def _nansum_rows(mat: FloatArray, groups: NDArray[np.intp], n_groups: int) -> FloatArray:
    """Sum rows by group, NaN only where every member is NaN."""
    order = np.argsort(groups, kind="stable")
    starts = np.searchsorted(groups[order], np.arange(n_groups))
    out = np.add.reduceat(np.nan_to_num(mat[order]), starts, axis=0)
    seen = np.logical_or.reduceat(np.isfinite(mat[order]), starts, axis=0)
    out[~seen] = np.nan
    return out


def with_parents(arrays: StreamArrays) -> StreamArrays:
    """Add a moment x metric parent over segments where a moment has more than one segment.

    A moment seen in one segment only keeps that stream, marked as the moment's level.
    """
    parents = sorted({(m, me) for m, _, me in arrays.keys})
    group_of = {p: i for i, p in enumerate(parents)}
    groups = np.array([group_of[(m, me)] for m, _, me in arrays.keys], dtype=np.intp)
    members = np.bincount(groups, minlength=len(parents))
    level = ["moment" if members[g] == 1 else "segment" for g in groups]
    many = np.flatnonzero(members > 1)
    parent_sums = {k: _nansum_rows(v, groups, len(parents))[many] for k, v in arrays.sums.items()}
    keys = arrays.keys + [(parents[i][0], ALL_SEGMENTS, parents[i][1]) for i in many]
    sums = {k: np.vstack([arrays.sums[k], parent_sums[k]]) for k in arrays.sums}
    merged = StreamArrays(keys, level + ["moment"] * len(many), arrays.periods, sums, arrays.days)
    order = np.array(
        sorted(range(len(keys)), key=lambda i: (keys[i][0], keys[i][2], keys[i][1] != "*", keys[i][1])),
        dtype=np.intp,
    )
    return merged.take(order)


def to_weeks(arrays: StreamArrays) -> StreamArrays:
    """Sum days into ISO weeks (Monday first); a partial first or last week keeps what it has."""
    start = arrays.periods[0]
    monday = start - ((start.astype("datetime64[D]").view("int64") - 4) % 7).astype("timedelta64[D]")
    offset = int((start - monday).astype(int))
    n_weeks = (offset + len(arrays.periods) + 6) // 7
    week_of = (np.arange(len(arrays.periods)) + offset) // 7
    starts = np.searchsorted(week_of, np.arange(n_weeks))
    sums = {}
    for name, mat in arrays.sums.items():
        out = np.add.reduceat(np.nan_to_num(mat), starts, axis=1)
        out[~np.logical_or.reduceat(np.isfinite(mat), starts, axis=1)] = np.nan
        sums[name] = out
    periods = monday + np.arange(n_weeks) * np.timedelta64(7, "D")
    return replace(arrays, periods=periods, sums=sums, days=7)
