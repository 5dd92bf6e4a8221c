"""Open promises that fall due: a promised time passes with no outcome, and the experience is missed.

Ingest stores an open promise (a promised delivery date, an SLA due time, with no outcome yet)
without a status while its due time lies ahead of the clock. When the clock passes it, the
customer has been let down *now*: :func:`promises_due` marks every such experience missed, on
the day it fell due (its ``occurred_at`` is the due time already). When the outcome comes in
later, ingest replaces the stored row (one experience, never counted twice); see
``adapters/duckdb_derived``.

The batch monitor runs it before aggregating, the live service before it closes days, both
with their own clock (the wall clock, or the latest event on the event clock).
"""

from __future__ import annotations

import datetime as dt

from gapwatch.sqlport import Sql, rows

__all__ = ["pending_promises", "promises_due"]


def _has_promises(con: Sql) -> bool:
    found = rows(
        con,
        "SELECT count(*) AS n FROM information_schema.columns WHERE table_name = 'experiences'"
        " AND column_name = 'due_at'",
    )
    return bool(found and found[0]["n"])


def pending_promises(con: Sql) -> int:
    """Open promises not yet due (stored without a status)."""
    if not _has_promises(con):
        return 0
    found = rows(con, "SELECT count(*) AS n FROM experiences WHERE status IS NULL AND due_at IS NOT NULL")
    return int(found[0]["n"]) if found else 0


def promises_due(con: Sql, as_of: dt.datetime) -> list[tuple[str, str, str, dt.date]]:
    """Mark open promises due by ``as_of`` missed; returns the (moment, segment, metric, day) they fell on.

    ``con`` must be able to write (the writer's transaction, or a bare connection).
    """
    if not _has_promises(con):
        return []
    due = rows(
        con,
        "SELECT DISTINCT moment, segment, metric, period FROM experiences"
        " WHERE status IS NULL AND due_at IS NOT NULL AND due_at <= ?",
        [as_of],
    )
    if due:
        con.execute(
            "UPDATE experiences SET status = -1 WHERE status IS NULL AND due_at IS NOT NULL AND due_at <= ?",
            [as_of],
        )
    return [(r["moment"], r["segment"], r["metric"], r["period"]) for r in due]
