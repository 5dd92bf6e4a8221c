"""How metrics are aggregated: specs written once as Ibis expressions (no SQL, no connection).

The store adapter binds them to a backend (DuckDB by default) and executes them.
"""

from __future__ import annotations

from gapwatch.metrics.outcomes import OUTCOME_COLUMNS, nps_weekly, outcomes_table
from gapwatch.metrics.presets import GAP_CLIP, GAP_STATS, PRESETS, ROBUST_GAP_STATS, SUM_COLUMNS
from gapwatch.metrics.spec import Aggregate, count_rows, count_where, total, total_squares
from gapwatch.metrics.streams import (
    EXPERIENCE_COLUMNS,
    STREAM_KEYS,
    data_horizon,
    experiences_table,
    rollup,
    stream_period_stats,
)

__all__ = [
    "EXPERIENCE_COLUMNS",
    "GAP_CLIP",
    "GAP_STATS",
    "OUTCOME_COLUMNS",
    "PRESETS",
    "ROBUST_GAP_STATS",
    "STREAM_KEYS",
    "SUM_COLUMNS",
    "Aggregate",
    "count_rows",
    "count_where",
    "data_horizon",
    "experiences_table",
    "nps_weekly",
    "outcomes_table",
    "rollup",
    "stream_period_stats",
    "total",
    "total_squares",
]
