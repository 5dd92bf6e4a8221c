"""Write a monitor run to the workspace: ``stream_periods`` and ``signals`` tables.

Both tables are recomputed as a whole on every run (late events change closed periods), and
written through DuckDB's own Arrow path in one transaction.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pyarrow as pa

from gapwatch.monitor.charts import Signal, StreamView
from gapwatch.monitor.result import MonitorResult
from gapwatch.sqlport import Sql, rows

__all__ = ["signals_table", "store_result", "stored_signals", "stream_periods_table"]

CHART_FIELDS = ("statistic", "center", "lcl", "ucl")


def _nullable(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _view_rows(view: StreamView) -> dict[str, list[Any]]:
    t = len(view.periods)
    cols: dict[str, list[Any]] = {
        "moment": [view.key[0]] * t,
        "segment": [view.key[1]] * t,
        "metric": [view.key[2]] * t,
        "level": [view.level] * t,
        "resolution": [view.resolution or None] * t,
        "method": [view.method] * t,
        "period": list(view.periods),
        "baseline": [bool(b) for b in view.baseline],
    }
    for name, arr in view.sums.items():
        cols[name] = [_nullable(x) for x in arr]
    for chart, prefix in (("miss_rate", "p"), ("mean_gap", "ewma")):
        series = view.charts.get(chart)
        cols[f"{prefix}_chart"] = [series.chart if series else None] * t
        for f in CHART_FIELDS:
            cols[f"{prefix}_{f}"] = [_nullable(x) for x in getattr(series, f)] if series else [None] * t
        cols[f"{prefix}_signal"] = [bool(x) for x in series.flags] if series else [False] * t
    return cols


def stream_periods_table(result: MonitorResult) -> pa.Table:
    """One row per stream and period (at the stream's resolution), with its charts."""
    merged: dict[str, list[Any]] = {}
    for view in result.streams:
        for k, v in _view_rows(view).items():
            merged.setdefault(k, []).extend(v)
    return pa.table(merged) if merged else pa.table({"moment": pa.array([], pa.string())})


def signals_table(signals: list[Signal]) -> pa.Table:
    """One row per signal."""
    names = [f.name for f in dataclasses.fields(Signal)]
    rows = [dataclasses.astuple(s) for s in signals]
    cols = {n: [r[i] for r in rows] for i, n in enumerate(names)}
    schema = pa.schema(
        [
            *(pa.field(n, pa.string()) for n in ("moment", "segment", "metric", "level")),
            pa.field("period", pa.date32()),
            pa.field("period_start", pa.date32()),
            *(pa.field(n, pa.string()) for n in ("resolution", "chart", "rule", "direction")),
            *(pa.field(n, pa.float64()) for n in ("statistic", "center", "lcl", "ucl")),
            pa.field("n", pa.int64()),
            pa.field("baseline_start", pa.date32()),
            pa.field("baseline_end", pa.date32()),
            pa.field("provisional", pa.bool_()),
            pa.field("arl0", pa.float64()),
        ]
    )
    return pa.table({n: cols[n] for n in names}, schema=schema)


def _replace(con: Any, name: str, table: pa.Table) -> None:
    view = f"_gapwatch_{name}_arrow"
    con.register(view, table)
    try:
        con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM "{view}"')
    finally:
        con.unregister(view)


def store_result(con: Any, result: MonitorResult, *, in_transaction: bool = False) -> None:
    """Replace ``stream_periods`` and ``signals`` with this run's, atomically."""
    periods = stream_periods_table(result)
    sigs = signals_table(result.signals)
    if in_transaction:
        _replace(con, "stream_periods", periods)
        _replace(con, "signals", sigs)
        return
    con.execute("BEGIN TRANSACTION")
    try:
        _replace(con, "stream_periods", periods)
        _replace(con, "signals", sigs)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def stored_signals(con: Sql, *, moment: str | None = None) -> list[Signal]:
    """The signals of the last stored run, oldest first (the table holds :class:`Signal`'s fields)."""
    names = ", ".join(f.name for f in dataclasses.fields(Signal))
    found = rows(
        con,
        f"SELECT {names} FROM signals WHERE ? IS NULL OR moment = ?"
        " ORDER BY period, moment, segment, metric, chart",
        [moment, moment],
    )
    return [Signal(**r) for r in found]
