"""The export of all personal data held about a customer, and erasure.

Erasure removes the identity rows, the free text of the customer's experiences and the
customer's rejected raw rows, and cuts the link from the remaining experiences and outcomes
to the person by giving them a random key (so every aggregate and statistic stays as it
was). The keyed id goes on the suppression list, and events sent again for that customer
are suppressed at ingest.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from typing import Any

from gapwatch.customers.journey import placeholders, require_keys
from gapwatch.sqlport import Sql, one, rows


@dataclass(frozen=True, slots=True)
class Export:
    customer_id: str
    identities: list[dict[str, Any]]
    experiences: list[dict[str, Any]]
    outcomes: list[dict[str, Any]]
    rejected: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Erasure:
    customer_id: str
    identities: int
    texts: int
    experiences_unlinked: int
    outcomes_unlinked: int
    rejected: int
    suppressed: bool = True
    extra: dict[str, int] = field(default_factory=dict)


def export(con: Sql, customer_id: str) -> Export:
    """Every row of personal data held about the customer."""
    keys = require_keys(con, customer_id)
    where = f"customer_key IN ({placeholders(keys)})"
    return Export(
        customer_id=customer_id,
        identities=rows(con, f"SELECT * FROM identities WHERE {where} ORDER BY first_seen", keys),
        experiences=rows(con, f"SELECT * FROM experiences WHERE {where} ORDER BY occurred_at", keys),
        outcomes=rows(con, f"SELECT * FROM outcomes WHERE {where} ORDER BY occurred_at", keys),
        rejected=rows(con, f"SELECT * FROM rejected WHERE {where} ORDER BY first_seen", keys),
    )


def _count(con: Sql, sql: str, params: list[Any]) -> int:
    r = one(con, sql, params)
    return int(r["n"]) if r else 0


def erase(con: Sql, customer_id: str, actor: str) -> Erasure:
    """Erase a customer's personal data and suppress events sent for them later (one transaction)."""
    keys = require_keys(con, customer_id)
    where = f"customer_key IN ({placeholders(keys)})"
    tomb = f"erased:{secrets.token_hex(12)}"
    texts = _count(con, f"SELECT count(*) AS n FROM experiences WHERE {where} AND text IS NOT NULL", keys)
    unlinked = _count(con, f"SELECT count(*) AS n FROM experiences WHERE {where}", keys)
    outcomes = _count(con, f"SELECT count(*) AS n FROM outcomes WHERE {where}", keys)
    rejected = _count(con, f"SELECT count(*) AS n FROM rejected WHERE {where}", keys)
    idents = _count(con, f"SELECT count(*) AS n FROM identities WHERE {where}", keys)
    extra = _drop_text_signals(con, where, keys)
    con.execute(f"UPDATE experiences SET text = NULL, customer_key = ? WHERE {where}", [tomb, *keys])
    con.execute(f"UPDATE outcomes SET customer_key = ? WHERE {where}", [tomb, *keys])
    con.execute(f"DELETE FROM rejected WHERE {where}", keys)
    con.execute(f"DELETE FROM identities WHERE {where}", keys)
    extra |= _unlink_perceptions(con, keys, tomb)
    now = dt.datetime.now(dt.UTC)
    for key in keys:
        con.execute("INSERT INTO erased VALUES (?, ?, ?) ON CONFLICT DO NOTHING", [key, now, actor])
    return Erasure(customer_id, idents, texts, unlinked, outcomes, rejected, extra=extra)


def _has_table(con: Sql, name: str) -> bool:
    found = one(con, "SELECT count(*) AS n FROM information_schema.tables WHERE table_name = ?", [name])
    return bool(found and found["n"])


def _drop_text_signals(con: Sql, where: str, keys: list[str]) -> dict[str, int]:
    """What the text analysis read in the customer's comments (language, sentiment, emotions,
    intents) goes with the comments: a label of a text that no longer exists is still about them."""
    if not _has_table(con, "text_signals"):
        return {}
    theirs = (
        "EXISTS (SELECT 1 FROM experiences e WHERE e.source = t.source AND e.event_id = t.event_id "
        f"AND e.{where})"
    )
    n = _count(con, f"SELECT count(*) AS n FROM text_signals t WHERE {theirs}", keys)
    con.execute(f"DELETE FROM text_signals t WHERE {theirs}", keys)
    return {"text_signals_deleted": n}


def _unlink_perceptions(con: Sql, keys: list[str], tomb: str) -> dict[str, int]:
    """A customer's perception survey answers keep their scores (the gaps stay as they were) but lose
    the link to the person, like their outcomes."""
    if not _has_table(con, "perception_responses"):
        return {}
    where = f"respondent_key IN ({placeholders(keys)})"
    n = _count(con, f"SELECT count(*) AS n FROM perception_responses WHERE {where}", keys)
    con.execute(f"UPDATE perception_responses SET respondent_key = ? WHERE {where}", [tomb, *keys])
    return {"perception_answers_unlinked": n}


def erased_keys(con: Sql, keys: list[str]) -> set[str]:
    """Which of ``keys`` are on the suppression list."""
    if not keys:
        return set()
    found = rows(con, f"SELECT customer_key FROM erased WHERE customer_key IN ({placeholders(keys)})", keys)
    return {str(r["customer_key"]) for r in found}
