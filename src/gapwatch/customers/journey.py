"""The cross-silo customer view: one customer's journey across every silo, in time order.

Analytics tables carry only keyed pseudonymous ids; the real id lives in ``identities``
alone, and this module is where one is turned into the other. Identity stitching
(``identity_links``, written by the collect room) joins a visitor's anonymous key to the
customer's key, so the journey shows what the person did before they were known: the
experiences, behaviour (tracked calls that are no moment of truth) and outcomes carrying
only that anonymous key belong to the customer too. Links are followed one hop, both ways
(a customer's anonymous ids; an anonymous id's customers), never further: a device shared
by two customers must not merge them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from gapwatch.domain.bounds import MAX_IDENTIFIER, IdCase, normalised_id_sql
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
    value: float | None  # None: an open promise (no outcome yet)
    expected: float | None
    adequate: float
    desired: float
    gap: float | None
    gap_norm: float | None
    status: str  # missed, met, exceeded, or pending (an open promise not yet due)
    late: bool
    text: str | None = None  # the customer's comment, if any


@dataclass(frozen=True, slots=True)
class BehaviourStep:
    """A tracked call between moments of truth (a page view, an unmapped event, an identify)."""

    occurred_at: dt.datetime
    source: str
    type: str
    name: str | None
    message_id: str


@dataclass(frozen=True, slots=True)
class OutcomeStep:
    occurred_at: dt.datetime
    source: str
    outcome: str
    value: float


@dataclass(frozen=True, slots=True)
class Journey:
    customer_id: str
    stage_now: str | None
    silo_now: str | None
    silos: list[str]
    steps: list[JourneyStep]
    open_cases: list[Case]
    behaviour: list[BehaviourStep] = field(default_factory=list)
    outcomes: list[OutcomeStep] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PersonKeys:
    """The keys of one person: their customer keys and anonymous keys, links followed one hop."""

    customer: list[str]
    anonymous: list[str]

    @property
    def all(self) -> list[str]:
        return sorted({*self.customer, *self.anonymous})

    def where(self, alias: str = "") -> tuple[str, list[str]]:
        """SQL condition (and its parameters) for rows of this person in a table with both key columns.

        A row with the person's customer key is theirs; a row with one of their anonymous
        keys is theirs unless it names another customer (a shared device).
        """
        a = f"{alias}." if alias else ""
        c, n = self.customer, self.anonymous
        theirs = f"{a}customer_key IN ({placeholders(c)})" if c else "FALSE"
        if not n:
            return f"({theirs})", list(c)
        anonymous = f"{a}anonymous_key IN ({placeholders(n)}) AND ({a}customer_key IS NULL OR {theirs})"
        return f"({theirs} OR ({anonymous}))", [*c, *n, *c]


def normalised_ids(con: Sql, customer_id: str, case_rules: Sequence[IdCase] = ("lower",)) -> list[str]:
    """``customer_id`` as each case rule in use stores it (ingest's own SQL, so never a different fold)."""
    forms = ", ".join(normalised_id_sql("raw", c) for c in case_rules)
    found = rows(
        con,
        f"SELECT DISTINCT id FROM (SELECT unnest([{forms}]) AS id FROM (SELECT CAST(? AS VARCHAR) AS raw)) "
        "WHERE id IS NOT NULL ORDER BY 1",
        [customer_id],
    )
    return [str(r["id"]) for r in found]


def require_keys(con: Sql, customer_id: str, case_rules: Sequence[IdCase] = ("lower",)) -> list[str]:
    """Every key of the person ``customer_id`` names (:func:`person_keys`); raises
    :class:`CustomerNotFound` for an id never seen (or erased)."""
    return person_keys(con, customer_id, case_rules).all


def placeholders(keys: list[str]) -> str:
    return ", ".join("?" for _ in keys)


def person_keys(con: Sql, customer_id: str, case_rules: Sequence[IdCase] = ("lower",)) -> PersonKeys:
    """The keys of the person ``customer_id`` names (a customer or an anonymous id); links one hop.

    ``customer_id`` is read as each case rule in use would store it. Raises
    :class:`CustomerNotFound` when the id was never seen (or was erased).
    """
    if len(customer_id) > MAX_IDENTIFIER:  # longer ids are never stored (ingest rejects them)
        raise CustomerNotFound(customer_id[:60])
    ids = normalised_ids(con, customer_id, case_rules) if has_tables(con, "identities") else []
    found = (
        rows(
            con,
            "SELECT DISTINCT customer_key AS key, kind FROM identities"
            f" WHERE customer_id IN ({placeholders(ids)})",
            ids,
        )
        if ids
        else []
    )
    if not found:
        raise CustomerNotFound(customer_id)
    customer = sorted({str(r["key"]) for r in found if r["kind"] != "anonymous"})
    anonymous = sorted({str(r["key"]) for r in found if r["kind"] == "anonymous"})
    if not has_tables(con, "identity_links"):
        return PersonKeys(customer, anonymous)
    return PersonKeys(
        sorted({*customer, *_linked(con, "anonymous_key", "customer_key", anonymous)}),
        sorted({*anonymous, *_linked(con, "customer_key", "anonymous_key", customer)}),
    )


def _linked(con: Sql, given: str, wanted: str, keys: list[str]) -> set[str]:
    """The ``wanted`` keys linked to any of ``keys`` (in column ``given``) of ``identity_links``."""
    if not keys:
        return set()
    found = rows(
        con,
        f"SELECT DISTINCT {wanted} AS k FROM identity_links WHERE {given} IN ({placeholders(keys)})",
        keys,
    )
    return {str(r["k"]) for r in found}


def journey(con: Sql, customer_id: str, case_rules: Sequence[IdCase] = ("lower",)) -> Journey:
    """Experiences across every silo in time order, with their gaps, the active cases they touched,
    and the behaviour and outcomes between them (stitched identities included).

    ``case_rules``: the identifier case rules in use (:func:`gapwatch.domain.bounds.id_cases`).
    """
    person = person_keys(con, customer_id, case_rules)
    mine, params = person.where()
    found = rows(
        con,
        "SELECT occurred_at, period, source, event_id, silo, stage, moment, segment, metric, value,"
        " expected, adequate, desired, gap, gap_norm, status, late, text FROM experiences"
        f" WHERE {mine} ORDER BY occurred_at, moment, metric, event_id",
        params,
    )
    steps = [
        JourneyStep(**{**r, "status": "pending" if r["status"] is None else Status(int(r["status"])).label})
        for r in found
    ]
    # A workspace that was never served has no alerts or cases yet.
    cases = (
        []
        if not has_tables(con, "cases", "alerts")
        else rows(
            con,
            "SELECT DISTINCT c.* FROM cases c JOIN alerts a ON a.case_id = c.id JOIN experiences e"
            " ON e.moment = a.moment AND e.metric = a.metric AND (a.segment = 'all' OR e.segment = a.segment)"
            " AND e.period BETWEEN a.period - INTERVAL 6 DAY AND a.period"
            f" WHERE {person.where('e')[0]} AND c.state <> 'closed' ORDER BY c.opened_at",
            params,
        )
    )
    behaviour = (
        [
            BehaviourStep(**r)
            for r in rows(
                con,
                f"SELECT occurred_at, source, type, name, message_id FROM behaviour WHERE {mine}"
                " ORDER BY occurred_at, message_id LIMIT 1000",
                params,
            )
        ]
        if has_tables(con, "behaviour")
        else []
    )
    outcomes = [
        OutcomeStep(**r)
        for r in rows(
            con,
            f"SELECT occurred_at, source, outcome, value FROM outcomes WHERE {mine} ORDER BY occurred_at",
            params,
        )
    ]
    last = steps[-1] if steps else None
    silos = list(dict.fromkeys(s.silo for s in steps))
    return Journey(
        customer_id,
        last.stage if last else None,
        last.silo if last else None,
        silos,
        steps,
        [case_from_row(c) for c in cases],
        behaviour,
        outcomes,
    )
