"""The cross-silo customer view, the export of all personal data held, and erasure.

Analytics tables carry only the keyed pseudonymous ``customer_key``; the real id lives in
``identities`` alone. Erasure removes the identity rows, the free text of the customer's
experiences and the customer's rejected raw rows, and cuts the link from the remaining
experiences and outcomes to the person by giving them a random key (so every aggregate
and statistic stays as it was). The keyed id goes on the suppression list, and events
sent again for that customer are suppressed at ingest.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from typing import Any

from gapwatch.domain.gap import Status
from gapwatch.service.cases import Case, _case, _has_tables
from gapwatch.service.sqlport import Sql, one, rows


class CustomerNotFound(LookupError):
    """No identity for that customer id (never seen, or erased)."""


@dataclass(frozen=True, slots=True)
class JourneyStep:
    occurred_at: dt.datetime
    period: dt.date
    source: str
    event_id: str
    silo: str
    stage: str
    moment: str
    segment: str
    metric: str
    value: float
    expected: float | None
    adequate: float
    desired: float
    gap: float
    gap_norm: float | None
    status: str
    late: bool
    text: str | None = None  # the customer's comment, if any


@dataclass(frozen=True, slots=True)
class Journey:
    customer_id: str
    stage_now: str | None
    silo_now: str | None
    silos: list[str]
    steps: list[JourneyStep]
    open_cases: list[Case]


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


def customer_keys(con: Sql, customer_id: str) -> list[str]:
    found = rows(
        con, "SELECT DISTINCT customer_key FROM identities WHERE customer_id = ? ORDER BY 1", [customer_id]
    )
    return [str(r["customer_key"]) for r in found]


def _keys_or_404(con: Sql, customer_id: str) -> list[str]:
    keys = customer_keys(con, customer_id) if _has_tables(con, "identities") else []
    if not keys:
        raise CustomerNotFound(customer_id)
    return keys


def _in(keys: list[str]) -> str:
    return ", ".join("?" for _ in keys)


def journey(con: Sql, customer_id: str) -> Journey:
    """Experiences across every silo in time order, with their gaps, and the active cases they touched."""
    keys = _keys_or_404(con, customer_id)
    found = rows(
        con,
        "SELECT occurred_at, period, source, event_id, silo, stage, moment, segment, metric, value,"
        " expected, adequate, desired, gap, gap_norm, status, late, text FROM experiences"
        f" WHERE customer_key IN ({_in(keys)})"
        " ORDER BY occurred_at, moment, metric, event_id",
        keys,
    )
    steps = [JourneyStep(**{**r, "status": Status(int(r["status"])).label}) for r in found]
    cases = rows(
        con,
        "SELECT DISTINCT c.* FROM cases c JOIN alerts a ON a.case_id = c.id JOIN experiences e"
        " ON e.moment = a.moment AND e.metric = a.metric AND (a.segment = 'all' OR e.segment = a.segment)"
        " AND e.period BETWEEN a.period - INTERVAL 6 DAY AND a.period"
        f" WHERE e.customer_key IN ({_in(keys)}) AND c.state <> 'closed' ORDER BY c.opened_at",
        keys,
    )
    last = steps[-1] if steps else None
    silos = list(dict.fromkeys(s.silo for s in steps))
    return Journey(
        customer_id,
        last.stage if last else None,
        last.silo if last else None,
        silos,
        steps,
        [_case(c) for c in cases],
    )


def export(con: Sql, customer_id: str) -> Export:
    """Every row of personal data held about the customer."""
    keys = _keys_or_404(con, customer_id)
    where = f"customer_key IN ({_in(keys)})"
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
    keys = _keys_or_404(con, customer_id)
    where = f"customer_key IN ({_in(keys)})"
    tomb = f"erased:{secrets.token_hex(12)}"
    texts = _count(con, f"SELECT count(*) AS n FROM experiences WHERE {where} AND text IS NOT NULL", keys)
    unlinked = _count(con, f"SELECT count(*) AS n FROM experiences WHERE {where}", keys)
    outcomes = _count(con, f"SELECT count(*) AS n FROM outcomes WHERE {where}", keys)
    rejected = _count(con, f"SELECT count(*) AS n FROM rejected WHERE {where}", keys)
    idents = _count(con, f"SELECT count(*) AS n FROM identities WHERE {where}", keys)
    con.execute(f"UPDATE experiences SET text = NULL, customer_key = ? WHERE {where}", [tomb, *keys])
    con.execute(f"UPDATE outcomes SET customer_key = ? WHERE {where}", [tomb, *keys])
    con.execute(f"DELETE FROM rejected WHERE {where}", keys)
    con.execute(f"DELETE FROM identities WHERE {where}", keys)
    now = dt.datetime.now(dt.UTC)
    for key in keys:
        con.execute("INSERT INTO erased VALUES (?, ?, ?) ON CONFLICT DO NOTHING", [key, now, actor])
    return Erasure(customer_id, idents, texts, unlinked, outcomes, rejected)


def erased_keys(con: Sql, keys: list[str]) -> set[str]:
    """Which of ``keys`` are on the suppression list."""
    if not keys:
        return set()
    found = rows(con, f"SELECT customer_key FROM erased WHERE customer_key IN ({_in(keys)})", keys)
    return {str(r["customer_key"]) for r in found}
