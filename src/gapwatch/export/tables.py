"""What ``gapwatch export`` takes out of a workspace, and how it reads it: Arrow batches, never whole.

Each kind is one stored table with the columns an analyst needs, pseudonymous ids only:
experiences carry ``customer_key`` / ``anonymous_key`` (keyed HMACs), never a real id
(``identities`` is never exported), and their free text only when asked (``text=True``:
comments may hold personal data). Internal dedupe hashes stay behind; JSON columns leave as
JSON text. ``since`` keeps the rows of that day and later (for cases: updated since).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

import pyarrow as pa

from gapwatch.sqlport import has_tables

What = Literal["experiences", "signals", "alerts", "cases", "streams"]
WHAT: tuple[What, ...] = ("experiences", "signals", "alerts", "cases", "streams")
BATCH_ROWS = 65_536


class ExportError(ValueError):
    """Nothing to export (a table the workspace does not have yet), or a bad request."""


@dataclass(frozen=True, slots=True)
class Kind:
    table: str
    columns: str  # the SELECT list
    since: str  # the column ``since`` compares with (a DATE expression)
    order: str
    partition: str | None = None  # the Parquet partition column (hive layout)
    made_by: str = "gapwatch ingest"


KINDS: dict[str, Kind] = {
    "experiences": Kind(
        "experiences",
        "* EXCLUDE (key_hash, payload_hash, attributes, text), CAST(attributes AS VARCHAR) AS attributes",
        "period",
        "period, occurred_at, source, event_id",
        partition="period",
    ),
    "signals": Kind(
        "signals", "*", "period", "period, moment, segment, metric, rule", made_by="gapwatch detect"
    ),
    "alerts": Kind("alerts", "*", "period", "period, created_at, id", made_by="gapwatch serve"),
    "cases": Kind("cases", "*", "CAST(updated_at AS DATE)", "opened_at, id", made_by="gapwatch serve"),
    "streams": Kind(
        "stream_periods", "*", "period", "moment, segment, metric, level, period", made_by="gapwatch detect"
    ),
}


def export_reader(
    con: Any, what: str, since: dt.date | None = None, *, text: bool = False
) -> pa.RecordBatchReader:
    """The rows of ``what`` as a stream of Arrow batches from a read connection ``con``."""
    kind = KINDS.get(what)
    if kind is None:
        raise ExportError(f"cannot export {what!r}; choose one of {', '.join(WHAT)}")
    if not has_tables(con, kind.table):
        raise ExportError(f"this workspace has no {what} yet (they are made by `{kind.made_by}`)")
    columns = kind.columns
    if text and what == "experiences":
        columns += ", text"
    where = f"WHERE {kind.since} >= ?" if since is not None else ""
    params = [since] if since is not None else []
    query = f"SELECT {columns} FROM {kind.table} {where} ORDER BY {kind.order}"
    reader: pa.RecordBatchReader = con.sql(query, params=params).to_arrow_reader(BATCH_ROWS)
    return reader
