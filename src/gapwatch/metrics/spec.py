"""A metric spec: one named aggregate, written once as an Ibis expression.

A spec knows how to reduce a table of experiences to one value per group; it holds no
SQL string and no connection, so the same spec compiles for DuckDB, PostgreSQL or Spark
and its compiled SQL can be snapshot-tested without a database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

__all__ = ["Aggregate", "count_known", "count_rows", "count_where", "total", "total_squares"]

Bound = tuple[float, float] | None

Reducer = Callable[[ir.Table], ir.Scalar]


@dataclass(frozen=True, slots=True)
class Aggregate:
    """A named aggregate: ``build(table)`` returns the Ibis reduction for one group.

    Examples
    --------
    >>> import ibis
    >>> t = ibis.table({"value": "float64"}, name="t")
    >>> spec = total("sum_value", "value")
    >>> spec.name, spec.build(t).type().is_floating()
    ('sum_value', True)
    """

    name: str
    build: Reducer
    doc: str = ""


def count_rows(name: str = "n") -> Aggregate:
    """Number of rows in the group."""
    return Aggregate(name, lambda t: t.count().cast("int64"), "rows in the group")


def count_known(name: str, column: str) -> Aggregate:
    """Number of rows whose ``column`` is known (not NULL)."""
    return Aggregate(name, lambda t: t[column].count().cast("int64"), f"rows with {column} known")


def count_where(name: str, column: str, equals: int) -> Aggregate:
    """Number of rows whose ``column`` equals ``equals`` (e.g. status = -1 for a miss)."""

    def build(t: ir.Table) -> ir.Scalar:
        return (t[column] == equals).ifelse(1, 0).sum().coalesce(0).cast("int64")

    return Aggregate(name, build, f"rows with {column} = {equals}")


def _column(t: ir.Table, column: str, clip: Bound) -> ir.NumericColumn:
    x = t[column].cast("float64")
    if clip is None:
        return x
    lo, hi = ibis.literal(clip[0]), ibis.literal(clip[1])
    # CASE rather than GREATEST/LEAST: those skip NULLs on some engines; here NULL stays NULL.
    return (x < lo).ifelse(lo, (x > hi).ifelse(hi, x))


def total(name: str, column: str, clip: Bound = None) -> Aggregate:
    """Sum of ``column`` (clipped to ``clip`` when given); 0 rather than NULL for an empty group."""

    def build(t: ir.Table) -> ir.Scalar:
        return _column(t, column, clip).sum().coalesce(ibis.literal(0.0))

    return Aggregate(name, build, f"sum of {column}" + (f" clipped to {clip}" if clip else ""))


def total_squares(name: str, column: str, clip: Bound = None) -> Aggregate:
    """Sum of ``column`` squared: with the count and the sum, the variance is recoverable."""

    def build(t: ir.Table) -> ir.Scalar:
        x = _column(t, column, clip)
        return (x * x).sum().coalesce(ibis.literal(0.0))

    return Aggregate(name, build, f"sum of squares of {column}" + (f" clipped to {clip}" if clip else ""))
