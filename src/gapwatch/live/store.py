"""Write what the live monitor changed to ``stream_periods`` and ``signals``, and nothing else.

The batch run replaces both tables whole (:func:`gapwatch.monitor.store.store_result`).
The live service holds the previous result in memory, so after each request it writes only
the rows that differ: the periods of a stream whose statistics or chart points changed
(usually today's, or a late event's day onwards) and the signals of streams whose signals
changed. The rows are exactly the batch's (same columns, same values; a test holds
:func:`view_table` to ``stream_periods_table``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from gapwatch.monitor.charts import Signal, StreamView
from gapwatch.monitor.store import signals_table

__all__ = [
    "PERIOD_SCHEMA",
    "Changes",
    "changed_periods",
    "view_table",
    "views_table",
    "write_all",
    "write_changes",
]

Key = tuple[str, str, str]
CHARTS = (("miss_rate", "p"), ("mean_gap", "ewma"))
FIELDS = ("statistic", "center", "lcl", "ucl")
_STR, _F64 = pa.string(), pa.float64()
PERIOD_SCHEMA = pa.schema(
    [pa.field(n, _STR) for n in ("moment", "segment", "metric", "level", "resolution", "method")]
    + [pa.field("period", pa.date32()), pa.field("baseline", pa.bool_())]
    + [
        pa.field(n, _F64)
        for n in ("n", "missed", "exceeded", "sum_gap_norm", "sum_gap_norm2", "sum_value", "sum_value2")
    ]
    + [
        f
        for _, p in CHARTS
        for f in (
            pa.field(f"{p}_chart", _STR),
            *(pa.field(f"{p}_{x}", _F64) for x in FIELDS),
            pa.field(f"{p}_signal", pa.bool_()),
        )
    ]
)


def _finite(x: NDArray[np.float64]) -> pa.Array:
    return pa.array(np.where(np.isfinite(x), x, np.nan), _F64, from_pandas=True)  # NaN, ±inf -> null


Part = tuple[StreamView, "NDArray[np.intp] | None"]


def view_table(view: StreamView, ix: NDArray[np.intp] | None = None) -> pa.Table:
    """The ``stream_periods`` rows of one stream (at periods ``ix``; default all)."""
    return views_table([(view, ix)])


def views_table(parts: Sequence[Part]) -> pa.Table:
    """The ``stream_periods`` rows of several streams (each at its periods ``ix``; None: all), at once."""
    text: dict[str, list[str | None]] = {n: [] for n in ("moment", "segment", "metric", "level")}
    text |= {n: [] for n in ("resolution", "method", *(f"{p}_chart" for _, p in CHARTS))}
    periods: list[dt.date] = []
    arrays: dict[str, list[NDArray[Any]]] = {
        f.name: [] for f in PERIOD_SCHEMA if f.name not in text and f.name != "period"
    }
    for view, ix in parts:
        ix = np.arange(len(view.periods), dtype=np.intp) if ix is None else ix
        k = int(ix.size)
        for name, value in zip(
            ("moment", "segment", "metric", "level", "resolution", "method"),
            (*view.key, view.level, view.resolution or None, view.method),
            strict=True,
        ):
            text[name].extend([value] * k)
        periods.extend(view.periods[i] for i in ix.tolist())
        arrays["baseline"].append(np.asarray(view.baseline, dtype=bool)[ix])
        for name, arr in view.sums.items():
            arrays.setdefault(name, []).append(np.asarray(arr, dtype=float)[ix])
        for chart, prefix in CHARTS:
            series = view.charts.get(chart)
            text[f"{prefix}_chart"].extend([series.chart if series else None] * k)
            for f in FIELDS:
                values = getattr(series, f)[ix] if series else np.full(k, np.nan)
                arrays.setdefault(f"{prefix}_{f}", []).append(np.asarray(values, dtype=float))
            flags = np.asarray(series.flags, dtype=bool)[ix] if series else np.zeros(k, bool)
            arrays.setdefault(f"{prefix}_signal", []).append(flags)
    columns: dict[str, pa.Array] = {n: pa.array(v, _STR) for n, v in text.items()}
    columns["period"] = pa.array(periods, pa.date32())
    for name, chunks in arrays.items():
        joined = np.concatenate(chunks) if chunks else np.zeros(0)
        is_flag = name == "baseline" or name.endswith("_signal")
        columns[name] = pa.array(joined.astype(bool), pa.bool_()) if is_flag else _finite(joined)
    return pa.table([columns[f.name] for f in PERIOD_SCHEMA], schema=PERIOD_SCHEMA)


def _same(a: NDArray[Any], b: NDArray[Any]) -> NDArray[np.bool_]:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    out: NDArray[np.bool_] = (a == b) | (~np.isfinite(a) & ~np.isfinite(b))
    return out


def _shape(view: StreamView) -> tuple[object, ...]:
    charts = tuple(sorted((k, s.chart) for k, s in view.charts.items()))
    return view.level, view.resolution, view.method, charts, view.periods[0] if view.periods else None


def changed_periods(old: StreamView | None, new: StreamView) -> NDArray[np.intp] | None:
    """Indices of ``new``'s periods that differ from ``old``; ``None`` when the stream must be rewritten."""
    if old is None or _shape(old) != _shape(new) or len(new.periods) < len(old.periods):
        return None
    t = len(old.periods)
    same = _same(old.baseline, new.baseline[:t])
    for name, arr in new.sums.items():
        same &= _same(old.sums[name], arr[:t])
    for chart, series in new.charts.items():
        before = old.charts[chart]
        for f in (*FIELDS, "flags"):
            same &= _same(getattr(before, f), getattr(series, f)[:t])
    return np.concatenate([np.flatnonzero(~same), np.arange(t, len(new.periods))]).astype(np.intp)


@dataclass
class Changes:
    """Rows to replace: whole streams, single periods, and streams whose signals changed."""

    rewrite: list[StreamView] = field(default_factory=list)
    periods: list[tuple[StreamView, NDArray[np.intp]]] = field(default_factory=list)
    signals: dict[Key, list[Signal]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.rewrite or self.periods or self.signals)

    def rows(self) -> int:
        return sum(len(v.periods) for v in self.rewrite) + sum(int(ix.size) for _, ix in self.periods)


def diff(
    old_views: Mapping[Key, StreamView],
    old_signals: Mapping[Key, list[Signal]],
    views: Iterable[StreamView],
    signals: Mapping[Key, list[Signal]],
) -> Changes:
    """What changed between the previous and the new views and signals of some streams."""
    out = Changes()
    for view in views:
        ix = changed_periods(old_views.get(view.key), view)
        if ix is None:
            out.rewrite.append(view)
        elif ix.size:
            out.periods.append((view, ix))
        new = signals.get(view.key, [])
        if new != old_signals.get(view.key, []):
            out.signals[view.key] = new
    return out


def _with(con: Any, name: str, table: pa.Table, sql: str) -> None:
    con.register(name, table)
    try:
        con.execute(sql)
    finally:
        con.unregister(name)


_DELETE_PERIODS = (
    "DELETE FROM stream_periods s USING __gw_live_del d WHERE s.moment = d.moment AND s.segment = d.segment"
    " AND s.metric = d.metric AND (d.period IS NULL OR s.period = d.period)"
)
_DELETE_SIGNALS = (
    "DELETE FROM signals s USING __gw_live_del d WHERE s.moment = d.moment AND s.segment = d.segment"
    " AND s.metric = d.metric"
)


def write_changes(con: Any, changes: Changes) -> None:
    """Apply ``changes`` on ``con`` (the caller holds the transaction)."""
    if changes.rewrite or changes.periods:
        parts: list[Part] = [(v, None) for v in changes.rewrite] + list(changes.periods)
        dels = [(v.key, None) for v in changes.rewrite]
        dels += [(v.key, v.periods[i]) for v, ix in changes.periods for i in ix.tolist()]
        keys = pa.table(
            {
                "moment": [k[0] for k, _ in dels],
                "segment": [k[1] for k, _ in dels],
                "metric": [k[2] for k, _ in dels],
                "period": pa.array([p for _, p in dels], pa.date32()),
            }
        )
        _with(con, "__gw_live_del", keys, _DELETE_PERIODS)
        _with(
            con,
            "__gw_live_ins",
            views_table(parts),
            "INSERT INTO stream_periods BY NAME SELECT * FROM __gw_live_ins",
        )
    if changes.signals:
        keys = pa.table(
            {n: [k[i] for k in changes.signals] for i, n in enumerate(("moment", "segment", "metric"))}
        )
        _with(con, "__gw_live_del", keys, _DELETE_SIGNALS)
        new = [s for sigs in changes.signals.values() for s in sigs]
        if new:
            _with(
                con,
                "__gw_live_ins",
                signals_table(new),
                "INSERT INTO signals BY NAME SELECT * FROM __gw_live_ins",
            )


def write_all(con: Any, views: Iterable[StreamView], signals: list[Signal]) -> None:
    """Replace both tables whole (start-up), typed so that later row writes always fit."""
    table = views_table([(v, None) for v in views])
    _with(
        con, "__gw_live_ins", table, "CREATE OR REPLACE TABLE stream_periods AS SELECT * FROM __gw_live_ins"
    )
    _with(
        con,
        "__gw_live_ins",
        signals_table(signals),
        "CREATE OR REPLACE TABLE signals AS SELECT * FROM __gw_live_ins",
    )
