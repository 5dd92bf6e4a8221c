"""What ingest refused: the rejected rows, with row number, reason and the refused value.

Every face lists them the same way (``gapwatch rejected``, ``GET /v1/rejected``,
``gapwatch.open(...).rejected()``): newest first, filtered by source and reason code. The raw
row is kept in the store (erasure covers it) but only an admin's listing carries it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from gapwatch.sqlport import Sql, has_tables, rows

__all__ = ["RejectedRow", "list_rejected", "rejected_counts"]

MAX_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class RejectedRow:
    """One refused row (or experience): where it came from, why, and the cell that was refused."""

    source: str
    file: str
    row_number: int | None
    event_id: str | None
    reason_code: str
    reason: str
    value: str | None
    times: int
    first_seen: dt.datetime
    last_seen: dt.datetime


def _filters(source: str | None, reason: str | None) -> tuple[str, list[object]]:
    return "(? IS NULL OR source = ?) AND (? IS NULL OR reason_code = ?)", [source, source, reason, reason]


def list_rejected(
    con: Sql, *, source: str | None = None, reason: str | None = None, limit: int = 100
) -> list[RejectedRow]:
    """Rejected rows, by source, file and row number (the order a person finds them in the file)."""
    if not has_tables(con, "rejected"):
        return []
    where, params = _filters(source, reason)
    found = rows(
        con,
        "SELECT source, file, row_number, event_id, reason_code, reason, value, times, first_seen, last_seen"
        f" FROM rejected WHERE {where} ORDER BY last_seen DESC, source, file, row_number NULLS LAST,"
        " reason_code LIMIT ?",
        [*params, max(0, min(int(limit), MAX_LIMIT))],
    )
    return [RejectedRow(**r) for r in found]


def rejected_counts(con: Sql, *, source: str | None = None, reason: str | None = None) -> dict[str, int]:
    """Rejected rows per reason code (each stored once; ``times`` counts repeats)."""
    if not has_tables(con, "rejected"):
        return {}
    where, params = _filters(source, reason)
    found = rows(
        con,
        f"SELECT reason_code, count(*) AS n FROM rejected WHERE {where} GROUP BY reason_code ORDER BY n DESC",
        params,
    )
    return {r["reason_code"]: int(r["n"]) for r in found}
