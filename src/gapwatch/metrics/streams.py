"""Stream x period sufficient statistics, as one Ibis expression.

A *stream* is a moment x segment x metric (DESIGN.md, "Streams are small, many and
nested"); its moment x metric parent is the sum of its segments. The expressions here
are unbound until a store adapter binds them to a backend; DuckDB runs them by default.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

from gapwatch.metrics.presets import GAP_STATS
from gapwatch.metrics.spec import Aggregate

__all__ = [
    "EXPERIENCE_COLUMNS",
    "STREAM_KEYS",
    "data_horizon",
    "experiences_table",
    "rollup",
    "stream_period_stats",
]

STREAM_KEYS: tuple[str, ...] = ("moment", "segment", "metric")

#: The columns of the store's ``experiences`` table that aggregation reads.
EXPERIENCE_COLUMNS: dict[str, str] = {
    "moment": "string",
    "segment": "string",
    "metric": "string",
    "occurred_at": "timestamp('UTC')",
    "period": "date",
    "status": "int8",
    "gap_norm": "float64",
    "value": "float64",
}


def experiences_table(name: str = "experiences") -> ir.Table:
    """An unbound table with the experience columns aggregation needs (for compiling SQL).

    Examples
    --------
    >>> experiences_table().columns[:3]
    ('moment', 'segment', 'metric')
    """
    return ibis.table(EXPERIENCE_COLUMNS, name=name)


def stream_period_stats(
    experiences: ir.Table,
    *,
    keys: Sequence[str] = STREAM_KEYS,
    period: str = "period",
    stats: Sequence[Aggregate] = GAP_STATS,
) -> ir.Table:
    """Sufficient statistics per stream and period, over scored experiences only.

    Experiences without a status (no expectation in force) are left out: they have no gap.

    Examples
    --------
    >>> import ibis
    >>> expr = stream_period_stats(experiences_table())
    >>> expr.columns[:5], "sum_gap_norm2" in expr.columns
    (('moment', 'segment', 'metric', 'period', 'n'), True)
    """
    scored = experiences.filter(experiences.status.notnull())
    group = [*keys, period]
    metrics = {a.name: a.build(scored) for a in stats}
    return scored.group_by(group).aggregate(**metrics)


def rollup(stats: ir.Table, *, drop: str = "segment", label: str = "*", period: str = "period") -> ir.Table:
    """Sum additive statistics over one key: the parent stream of a nested stream.

    The dropped key is kept as a constant ``label`` so parent and child rows share a schema.
    """
    keys = [c for c in stats.columns if c in (*STREAM_KEYS, period) and c != drop]
    sums = {c: stats[c].sum() for c in stats.columns if c not in (*keys, drop)}
    rolled = stats.group_by(keys).aggregate(**sums)
    return rolled.mutate(**{drop: ibis.literal(label)}).select(*stats.columns)


def data_horizon(experiences: ir.Table) -> ir.Table:
    """One row: first and last period and the latest event time (what is closed so far).

    Only scored experiences count: an open promise not yet due (no status) lies ahead of the clock.
    """
    scored = experiences.filter(experiences.status.notnull())
    return scored.aggregate(
        first_period=scored.period.min(),
        last_period=scored.period.max(),
        last_event=scored.occurred_at.max(),
    )
