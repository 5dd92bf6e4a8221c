"""The cross-silo customer view: one customer's journey across every silo, in time order.

Analytics tables carry only the keyed pseudonymous ``customer_key``; the real id lives in
``identities`` alone, and this module is where one is turned into the other.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from gapwatch.domain.gap import Status
from gapwatch.quality.cases import Case, case_from_row
from gapwatch.sqlport import Sql, has_tables, rows


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


def customer_keys(con: Sql, customer_id: str) -> list[str]:
    found = rows(
        con, "SELECT DISTINCT customer_key FROM identities WHERE customer_id = ? ORDER BY 1", [customer_id]
    )
    return [str(r["customer_key"]) for r in found]


def require_keys(con: Sql, customer_id: str) -> list[str]:
    keys = customer_keys(con, customer_id) if has_tables(con, "identities") else []
    if not keys:
        raise CustomerNotFound(customer_id)
    return keys


def placeholders(keys: list[str]) -> str:
    return ", ".join("?" for _ in keys)


def journey(con: Sql, customer_id: str) -> Journey:
    """Experiences across every silo in time order, with their gaps, and the active cases they touched."""
    keys = require_keys(con, customer_id)
    found = rows(
        con,
        "SELECT occurred_at, period, source, event_id, silo, stage, moment, segment, metric, value,"
        " expected, adequate, desired, gap, gap_norm, status, late, text FROM experiences"
        f" WHERE customer_key IN ({placeholders(keys)})"
        " ORDER BY occurred_at, moment, metric, event_id",
        keys,
    )
    steps = [JourneyStep(**{**r, "status": Status(int(r["status"])).label}) for r in found]
    # A workspace that was never served has no alerts or cases yet.
    cases = (
        []
        if not has_tables(con, "cases", "alerts")
        else rows(
            con,
            "SELECT DISTINCT c.* FROM cases c JOIN alerts a ON a.case_id = c.id JOIN experiences e"
            " ON e.moment = a.moment AND e.metric = a.metric AND (a.segment = 'all' OR e.segment = a.segment)"
            " AND e.period BETWEEN a.period - INTERVAL 6 DAY AND a.period"
            f" WHERE e.customer_key IN ({placeholders(keys)}) AND c.state <> 'closed' ORDER BY c.opened_at",
            keys,
        )
    )
    last = steps[-1] if steps else None
    silos = list(dict.fromkeys(s.silo for s in steps))
    return Journey(
        customer_id,
        last.stage if last else None,
        last.silo if last else None,
        silos,
        steps,
        [case_from_row(c) for c in cases],
    )
