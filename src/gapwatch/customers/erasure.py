"""The export of all personal data held about a customer, and erasure.

Erasure removes the identity rows, the free text of the customer's experiences and the
customer's rejected raw rows, and cuts the link from the remaining experiences and outcomes
to the person by giving them a random key (so every aggregate and statistic stays as it
was). The keyed id goes on the suppression list, and events sent again for that customer
are suppressed at ingest.

Erasure follows identity stitching (:func:`~gapwatch.customers.journey.person_keys`): the
anonymous ids linked to the customer are erased with them — their identity rows, their
behaviour, their links (``identity_links``) — and go on the suppression list too, so a
tracker that keeps sending the old anonymous id is suppressed as well.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from typing import Any

from gapwatch.customers.journey import person_keys, placeholders
from gapwatch.sqlport import Sql, has_tables, one, rows


@dataclass(frozen=True, slots=True)
class Export:
    customer_id: str
    identities: list[dict[str, Any]]
    experiences: list[dict[str, Any]]
    outcomes: list[dict[str, Any]]
    rejected: list[dict[str, Any]]
    behaviour: list[dict[str, Any]] = field(default_factory=list)
    identity_links: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Erasure:
    customer_id: str
    identities: int
    texts: int
    experiences_unlinked: int
    outcomes_unlinked: int
    rejected: int
    suppressed: bool = True
    behaviour: int = 0
    identity_links: int = 0
    extra: dict[str, int] = field(default_factory=dict)


def export(con: Sql, customer_id: str) -> Export:
    """Every row of personal data held about the customer (stitched anonymous ids included)."""
    person = person_keys(con, customer_id)
    keys = person.all
    where = f"customer_key IN ({placeholders(keys)})"
    mine, params = person.where()
    stitched = has_tables(con, "behaviour", "identity_links")
    links = f"anonymous_key IN ({placeholders(keys)}) OR customer_key IN ({placeholders(keys)})"
    return Export(
        customer_id=customer_id,
        identities=rows(con, f"SELECT * FROM identities WHERE {where} ORDER BY first_seen", keys),
        experiences=rows(con, f"SELECT * FROM experiences WHERE {mine} ORDER BY occurred_at", params),
        outcomes=rows(con, f"SELECT * FROM outcomes WHERE {mine} ORDER BY occurred_at", params),
        rejected=rows(con, f"SELECT * FROM rejected WHERE {where} ORDER BY first_seen", keys),
        behaviour=rows(con, f"SELECT * FROM behaviour WHERE {mine} ORDER BY occurred_at", params)
        if stitched
        else [],
        identity_links=rows(con, f"SELECT * FROM identity_links WHERE {links}", [*keys, *keys])
        if stitched
        else [],
    )


def _count(con: Sql, sql: str, params: list[Any]) -> int:
    r = one(con, sql, params)
    return int(r["n"]) if r else 0


def erase(con: Sql, customer_id: str, actor: str) -> Erasure:
    """Erase a customer's personal data and suppress events sent for them later (one transaction)."""
    person = person_keys(con, customer_id)
    keys = person.all
    where = f"customer_key IN ({placeholders(keys)})"
    mine, params = person.where()
    tomb = f"erased:{secrets.token_hex(12)}"
    texts = _count(con, f"SELECT count(*) AS n FROM experiences WHERE {mine} AND text IS NOT NULL", params)
    unlinked = _count(con, f"SELECT count(*) AS n FROM experiences WHERE {mine}", params)
    outcomes = _count(con, f"SELECT count(*) AS n FROM outcomes WHERE {mine}", params)
    rejected = _count(con, f"SELECT count(*) AS n FROM rejected WHERE {where}", keys)
    idents = _count(con, f"SELECT count(*) AS n FROM identities WHERE {where}", keys)
    for table in ("experiences", "outcomes"):
        text = "text = NULL, " if table == "experiences" else ""
        anon = f"anonymous_key IN ({placeholders(keys)})"
        con.execute(
            f"UPDATE {table} SET {text}customer_key = CASE WHEN {where} THEN ? ELSE customer_key END, "
            f"anonymous_key = CASE WHEN {anon} THEN ? ELSE anonymous_key END WHERE {mine}",
            [*keys, tomb, *keys, tomb, *params],
        )
    behaviour = links = 0
    if has_tables(con, "behaviour", "identity_links"):
        behaviour = _count(con, f"SELECT count(*) AS n FROM behaviour WHERE {mine}", params)
        con.execute(f"DELETE FROM behaviour WHERE {mine}", params)
        linked = f"anonymous_key IN ({placeholders(keys)}) OR customer_key IN ({placeholders(keys)})"
        links = _count(con, f"SELECT count(*) AS n FROM identity_links WHERE {linked}", [*keys, *keys])
        con.execute(f"DELETE FROM identity_links WHERE {linked}", [*keys, *keys])
    con.execute(f"DELETE FROM rejected WHERE {where}", keys)
    con.execute(f"DELETE FROM identities WHERE {where}", keys)
    now = dt.datetime.now(dt.UTC)
    for key in keys:
        con.execute("INSERT INTO erased VALUES (?, ?, ?) ON CONFLICT DO NOTHING", [key, now, actor])
    return Erasure(customer_id, idents, texts, unlinked, outcomes, rejected, True, behaviour, links)


def erased_keys(con: Sql, keys: list[str]) -> set[str]:
    """Which of ``keys`` are on the suppression list."""
    if not keys:
        return set()
    found = rows(con, f"SELECT customer_key FROM erased WHERE customer_key IN ({placeholders(keys)})", keys)
    return {str(r["customer_key"]) for r in found}
