"""The lake's tables: their columns and types, the same whichever engine writes them.

Every column is cast to its type on the way out, so a lake written partly by DuckDB and
partly by Spark reads as one table (pandas, DuckDB and Spark alike); the partition column
(``period``, or ``received`` for rejects) is the folder name.
"""

from __future__ import annotations

import pyarrow as pa

from gapwatch.domain.gap import Status

__all__ = ["LAKE_SCHEMAS", "LAKE_TABLES", "current_sql", "lake_columns", "opened_sql"]

_TS = pa.timestamp("us", tz="UTC")
LAKE_SCHEMAS: dict[str, pa.Schema] = {
    "experiences": pa.schema(
        [
            ("source", pa.string()),
            ("event_id", pa.string()),
            ("customer_key", pa.string()),
            ("anonymous_key", pa.string()),
            ("occurred_at", _TS),
            ("moment", pa.string()),
            ("stage", pa.string()),
            ("silo", pa.string()),
            ("segment", pa.string()),
            ("metric", pa.string()),
            ("value", pa.float64()),
            ("expected", pa.float64()),
            ("expectation_id", pa.int32()),
            ("adequate", pa.float64()),
            ("desired", pa.float64()),
            ("gap", pa.float64()),
            ("gap_norm", pa.float64()),
            ("status", pa.int8()),
            ("text", pa.string()),
            ("attributes", pa.string()),
            ("late", pa.bool_()),
            ("due_at", _TS),
            ("ingested_at", _TS),
            ("period", pa.date32()),
        ]
    ),
    "outcomes": pa.schema(
        [
            ("source", pa.string()),
            ("event_id", pa.string()),
            ("customer_key", pa.string()),
            ("anonymous_key", pa.string()),
            ("occurred_at", _TS),
            ("value", pa.float64()),
            ("outcome", pa.string()),
            ("ingested_at", _TS),
            ("period", pa.date32()),
        ]
    ),
    "rejected": pa.schema(
        [
            ("source", pa.string()),
            ("event_id", pa.string()),
            ("file", pa.string()),
            ("row_number", pa.int64()),
            ("raw", pa.string()),
            ("reason", pa.string()),
            ("reason_code", pa.string()),
            ("customer_key", pa.string()),
            ("value", pa.string()),
            ("times", pa.int32()),
            ("raw_hash", pa.string()),
            ("ingested_at", _TS),
            ("received", pa.date32()),
        ]
    ),
}
LAKE_TABLES = tuple(LAKE_SCHEMAS)

_SQL_TYPES = {
    pa.string(): "VARCHAR",
    pa.float64(): "DOUBLE",
    pa.int32(): "INTEGER",
    pa.int64(): "BIGINT",
    pa.int8(): "TINYINT",
    pa.bool_(): "BOOLEAN",
    pa.date32(): "DATE",
    _TS: "TIMESTAMPTZ",
}


def lake_columns(table: str) -> list[tuple[str, str]]:
    """(column, SQL type) of a lake table, partition column last."""
    return [(f.name, _SQL_TYPES[f.type]) for f in LAKE_SCHEMAS[table]]


def opened_sql(relation: str) -> str:
    """The events of the lake's experiences in ``relation`` that have a copy without a value (open
    promises, and promises updated since): the only ones with more than one copy."""
    return f"SELECT DISTINCT source AS s, event_id AS e FROM {relation} WHERE value IS NULL"


def current_sql(relation: str, as_of: str | None = None, opened: str | None = None) -> str:
    """The lake's experiences in ``relation`` as the store holds them: the latest copy of each
    (source, event_id) (a promise updated since is appended again), and with ``as_of`` (a SQL
    timestamp) a pending promise due by then missed, as ``monitor/promises`` marks it.

    ``opened`` names a relation of the events with a copy without a value (:func:`opened_sql`,
    materialised by the caller: a small table Spark can broadcast); by default a subquery.
    """
    columns = ", ".join(name for name, _ in lake_columns("experiences"))
    # Only an event that was an open promise (a copy without a value) can have several copies: its
    # outcome is appended as an update, and any other repeat is a duplicate or a conflict, never
    # written. So the window (a sort of every column) runs on those few events, not the whole lake.
    opened = opened or f"({opened_sql(relation)})"
    theirs = f"EXISTS (SELECT 1 FROM {opened} o WHERE o.s = r.source AND o.e = r.event_id)"
    latest = (
        f"SELECT {columns} FROM {relation} r WHERE NOT {theirs} UNION ALL "
        f"SELECT {columns} FROM (SELECT r.*, row_number() OVER (PARTITION BY source, event_id "
        f"ORDER BY ingested_at DESC, value IS NULL) AS __gw_v FROM {relation} r WHERE {theirs}) "
        "WHERE __gw_v = 1"
    )
    if as_of is None:
        return f"SELECT {columns} FROM ({latest})"
    missed = int(Status.MISSED)
    status = (
        f"CAST(CASE WHEN status IS NULL AND due_at IS NOT NULL AND due_at <= {as_of} THEN {missed} "
        "ELSE status END AS TINYINT)"
    )
    return f"SELECT {columns.replace('status', f'{status} AS status', 1)} FROM ({latest})"
