"""Batch detection over a lake: the engine aggregates, the detectors run here (the driver).

``gapwatch detect --lake DIR --engine duckdb|spark``: the stream × period statistics are the
metric expressions of ``metrics/`` (Ibis) run by the engine over ``LAKE/experiences``, the
thin streams' events are read by the engine too, and everything after — baselines, charts,
the false-alarm budget, signals — is the same code as the workspace's own detection, on
arrays over all streams at once. The :func:`signal_digest` of two runs is equal when their
signals are.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from gapwatch.config.schema import WorkspaceConfig
from gapwatch.engines.lake_schema import LAKE_SCHEMAS, current_sql, opened_sql
from gapwatch.metrics import data_horizon, stream_period_stats
from gapwatch.monitor.charts import Signal
from gapwatch.monitor.phases import Phases
from gapwatch.monitor.result import MonitorResult
from gapwatch.monitor.run import Clock, closed_through, detect_all
from gapwatch.ports import Engine

__all__ = ["SIGNAL_KEY", "LakeRun", "detect_lake", "signal_digest"]

#: The fields of a signal the digest covers: its stream, period, chart, rule and direction.
SIGNAL_KEY = ("moment", "segment", "metric", "period", "chart", "rule", "direction")
_RAW = "__gw_lake_experiences"  # every copy in the lake; ``experiences`` is the current one of each
_OPENED = "__gw_lake_opened"  # events with a copy without a value: the only ones with several copies


def signal_digest(signals: Iterable[Signal]) -> str:
    """SHA-256 (hex) over the sorted signal rows: equal digests, equal signals.

    Examples
    --------
    >>> signal_digest([]) == hashlib.sha256(b"").hexdigest()
    True
    """
    rows = sorted("\t".join(str(getattr(s, k)) for k in SIGNAL_KEY) for s in signals)
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()


@dataclass(frozen=True)
class LakeRun:
    """A detection run over a lake, with what it read."""

    result: MonitorResult
    events: int
    aggregate: pa.Table


def _utc(value: Any, timezone: str) -> dt.datetime | None:
    """An engine's timestamp as an aware UTC datetime (Spark hands back session-local naive times)."""
    if value is None:
        return None
    if value.tzinfo is None:
        from zoneinfo import ZoneInfo

        value = value.replace(tzinfo=ZoneInfo(timezone))
    result: dt.datetime = value.astimezone(dt.UTC)
    return result


def detect_lake(
    engine: Engine,
    lake: Path,
    config: WorkspaceConfig,
    *,
    clock: Clock = "wall",
    now: dt.datetime | None = None,
    phases: Phases | None = None,
) -> LakeRun:
    """Aggregate ``LAKE/experiences`` on ``engine`` and detect on every stream (nothing stored here).

    As ``run_monitor`` does on the store: open promises the clock has passed (the latest
    event on the event clock, else ``now``) count as missed, and ``phases`` (the workspace's
    cases that accepted a new normal) judge their streams from the phase start.
    """
    engine.load_parquet(_RAW, lake / "experiences", LAKE_SCHEMAS["experiences"])
    try:
        engine.create(_OPENED, opened_sql(_RAW))  # small, and materialised: Spark broadcasts it
        # a view where the engine has them: each read then scans only the columns it needs
        engine.create("experiences", current_sql(_RAW, opened=_OPENED), materialise=False)
        experiences = engine.ibis_table("experiences")
        horizon = engine.run_ibis(data_horizon(experiences)).to_pylist()[0]
        pending = engine.fetch(
            "SELECT count(*) AS n FROM experiences WHERE status IS NULL AND due_at IS NOT NULL"
        ).column("n")[0]
        if pending.as_py():
            last = _utc(horizon["last_event"], engine.timezone)
            as_of = last if clock == "event" and last is not None else now
            as_of = (as_of or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
            as_sql = f"TIMESTAMPTZ '{as_of.isoformat()}'"
            engine.create("experiences", current_sql(_RAW, as_sql, _OPENED), materialise=False)
            experiences = engine.ibis_table("experiences")
            horizon = engine.run_ibis(data_horizon(experiences)).to_pylist()[0]
        events = int(engine.run_ibis(experiences.aggregate(n=experiences.count())).column("n")[0].as_py())
        last_event = _utc(horizon["last_event"], engine.timezone)
        closed = closed_through(last_event, config.workspace.timezone, clock, now)
        table = _sorted(engine.run_ibis(stream_period_stats(experiences)))
        result = detect_all(
            engine,
            table,
            config.detection,
            closed=closed,
            first=horizon["first_period"],
            last=horizon["last_period"],
            phases=phases,
        )
    finally:
        engine.drop("experiences", _OPENED, _RAW)
    return LakeRun(result, events, table)


def _sorted(table: pa.Table) -> pa.Table:
    """Rows in stream and period order (an engine returns groups in any order)."""
    keys = [(c, "ascending") for c in ("moment", "segment", "metric", "period")]
    return table.sort_by(keys)
