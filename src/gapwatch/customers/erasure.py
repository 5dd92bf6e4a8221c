"""The export of all personal data held about a customer, and erasure that leaves no trace.

Erasure (one transaction, then a compaction of the store's file):

* it follows identity stitching (:func:`~gapwatch.customers.journey.person_keys`): the
  anonymous ids linked to the customer are erased with them — their identity rows, their
  behaviour, their links (``identity_links``) — and go on the suppression list too, so a
  tracker that keeps sending the old anonymous id is suppressed as well;
* the identity rows go, and the customer's keys join the suppression list (``erased``),
  with the keys of the id as every case rule in use would store it, so a later event for
  them on any path (API, file, CLI, replay, tracking) is counted as rejected and never stored;
* the customer's experiences and outcomes stay for the statistics (every aggregate and chart
  stays as it was) but lose everything that could point back to the person: the key becomes
  a random tombstone, the free text and attributes are removed, and the event id (often
  ``alice-order-77``) becomes a random one;
* rejected rows of the customer, and any rejected row or comment that spells one of their
  identifiers, are deleted;
* then the database file is rewritten (:meth:`DuckDBStore.compact`): DuckDB keeps deleted
  and overwritten values in free blocks until a file is rewritten, so only after the copy
  are the bytes gone from the file and its log.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from gapwatch.adapters.duckdb_sql import PAYLOAD, hash64
from gapwatch.customers.journey import CustomerNotFound, normalised_ids, person_keys, placeholders
from gapwatch.domain.bounds import IdCase
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
    compacted: bool = False
    seconds: float = 0.0
    extra: dict[str, int] = field(default_factory=dict)


class ErasableStore(Protocol):
    """What erasure needs of a store: a write transaction, the keyed ids, a file rewrite."""

    def transaction(self) -> AbstractContextManager[Any]: ...

    def pseudonym(self, identifier: str) -> str: ...

    def compact(self) -> float: ...


def export(con: Sql, customer_id: str, case_rules: Sequence[IdCase] = ("lower",)) -> Export:
    """Every row of personal data held about the customer (stitched anonymous ids included)."""
    person = person_keys(con, customer_id, case_rules)
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


def _spelt(column: str, ids: list[str]) -> str:
    """Whether ``column`` spells one of ``ids`` as a whole word, in any case (each bound as ``?``).

    A whole word: erasing customer ``c1`` must not blank a comment about order ``c10``.
    """
    word = "'(^|[^[:alnum:]])' || regexp_escape(lower(?)) || '($|[^[:alnum:]])'"
    return "(" + " OR ".join(f"regexp_matches(lower(CAST({column} AS VARCHAR)), {word})" for _ in ids) + ")"


def erase(
    con: Sql,
    customer_id: str,
    actor: str,
    case_rules: Sequence[IdCase] = ("lower",),
    pseudonym: Callable[[str], str] | None = None,
) -> Erasure:
    """Erase a customer's personal data and suppress later events for them (one transaction).

    ``case_rules`` are the identifier case rules in use; ``pseudonym`` (the store's keyed id) adds
    the id as each rule stores it to the suppression list, even if it was never seen so.
    This leaves the old bytes in the file's free blocks: :func:`erase_customer` then compacts.
    """
    person = person_keys(con, customer_id, case_rules)
    keys = person.all
    marks = f"({placeholders(keys)})"
    mine, params = person.where()
    ids = sorted(
        {
            str(r["customer_id"])
            for r in rows(con, f"SELECT customer_id FROM identities WHERE customer_key IN {marks}", keys)
        }
        | set(normalised_ids(con, customer_id, case_rules))
    )
    texts = _count(con, f"SELECT count(*) AS n FROM experiences WHERE {mine} AND text IS NOT NULL", params)
    unlinked = _count(con, f"SELECT count(*) AS n FROM experiences WHERE {mine}", params)
    outcomes = _count(con, f"SELECT count(*) AS n FROM outcomes WHERE {mine}", params)
    rejected = _count(con, f"SELECT count(*) AS n FROM rejected WHERE customer_key IN {marks}", keys)
    idents = _count(con, f"SELECT count(*) AS n FROM identities WHERE customer_key IN {marks}", keys)
    tomb = f"erased:{secrets.token_hex(12)}"
    extra = _drop_text_signals(con, *person.where("e"))  # before the event ids change
    for table in ("experiences", "outcomes"):
        scrub = "text = NULL, attributes = NULL, " if table == "experiences" else ""
        # A random event id: the old one may spell the person; the hashes follow the new values.
        con.execute(
            f"UPDATE {table} SET {scrub}event_id = 'erased:' || CAST(uuid() AS VARCHAR), "
            f"customer_key = CASE WHEN customer_key IN {marks} THEN ? ELSE customer_key END, "
            f"anonymous_key = CASE WHEN anonymous_key IN {marks} THEN ? ELSE anonymous_key END WHERE {mine}",
            [*keys, tomb, *keys, tomb, *params],
        )
        con.execute(
            f"UPDATE {table} SET key_hash = {hash64('event_id')}, payload_hash = {hash64(*PAYLOAD[table])} "
            "WHERE (customer_key = ? OR anonymous_key = ?)",
            [tomb, tomb],
        )
    # Comments and attributes of other people's experiences that spell one of the ids.
    con.execute(
        f"UPDATE experiences SET text = CASE WHEN {_spelt('text', ids)} THEN NULL ELSE text END, "
        f"attributes = CASE WHEN {_spelt('attributes', ids)} THEN NULL ELSE attributes END "
        f"WHERE {_spelt('text', ids)} OR {_spelt('attributes', ids)}",
        ids * 4,
    )
    con.execute(
        f"DELETE FROM rejected WHERE customer_key IN {marks} "
        f"OR {_spelt('raw', ids)} OR {_spelt('event_id', ids)}",
        [*keys, *ids, *ids],
    )
    behaviour = links = 0
    if has_tables(con, "behaviour", "identity_links"):
        behaviour = _count(con, f"SELECT count(*) AS n FROM behaviour WHERE {mine}", params)
        con.execute(f"DELETE FROM behaviour WHERE {mine}", params)
        linked = f"anonymous_key IN {marks} OR customer_key IN {marks}"
        links = _count(con, f"SELECT count(*) AS n FROM identity_links WHERE {linked}", [*keys, *keys])
        con.execute(f"DELETE FROM identity_links WHERE {linked}", [*keys, *keys])
    con.execute(f"DELETE FROM identities WHERE customer_key IN {marks}", keys)
    extra |= _unlink_perceptions(con, keys, tomb)
    _suppress(con, set(keys) | ({pseudonym(i) for i in ids} if pseudonym is not None else set()), actor)
    return Erasure(
        customer_id,
        idents,
        texts,
        unlinked,
        outcomes,
        rejected,
        behaviour=behaviour,
        identity_links=links,
        extra=extra,
    )


def erase_customer(
    store: ErasableStore, customer_id: str, actor: str, case_rules: Sequence[IdCase] = ("lower",)
) -> Erasure:
    """Erase a customer (:func:`erase`, committed), then rewrite the store's file so no byte is left.

    The answer comes once the file is rewritten: the erasure has then completed. The time
    grows with the store's size (``seconds``): see docs/security.md.
    """
    with store.transaction() as con:
        done = erase(con, customer_id, actor, case_rules, store.pseudonym)
    seconds = store.compact()
    return dataclasses.replace(done, compacted=True, seconds=round(seconds, 3))


def forget_customer(
    store: ErasableStore, customer_id: str, actor: str, case_rules: Sequence[IdCase] = ("lower",)
) -> Erasure:
    """:func:`erase_customer`, and for an id the store never saw (one only a lake holds) its keys
    put on the suppression list all the same: later events for it are refused, and a lake's
    erasure (``ingest/lake_erasure.py``) finds its rows by those keys."""
    try:
        return erase_customer(store, customer_id, actor, case_rules)
    except CustomerNotFound:
        pass
    with store.transaction() as con:
        _suppress(con, {store.pseudonym(i) for i in normalised_ids(con, customer_id, case_rules)}, actor)
    return Erasure(customer_id, 0, 0, 0, 0, 0)


def _suppress(con: Sql, keys: set[str], actor: str) -> None:
    """Put ``keys`` on the suppression list (a key already there keeps its first entry)."""
    now = dt.datetime.now(dt.UTC)
    for key in sorted(keys):
        con.execute("INSERT INTO erased VALUES (?, ?, ?) ON CONFLICT DO NOTHING", [key, now, actor])


def _drop_text_signals(con: Sql, mine: str, params: list[str]) -> dict[str, int]:
    """What the text analysis read in the customer's comments (language, sentiment, emotions,
    intents) goes with the comments: a label of a text that no longer exists is still about them."""
    if not has_tables(con, "text_signals"):
        return {}
    theirs = (
        "EXISTS (SELECT 1 FROM experiences e WHERE e.source = t.source AND e.event_id = t.event_id "
        f"AND {mine})"
    )
    n = _count(con, f"SELECT count(*) AS n FROM text_signals t WHERE {theirs}", params)
    con.execute(f"DELETE FROM text_signals t WHERE {theirs}", params)
    return {"text_signals_deleted": n}


def _unlink_perceptions(con: Sql, keys: list[str], tomb: str) -> dict[str, int]:
    """A customer's perception survey answers keep their scores (the gaps stay as they were) but lose
    the link to the person, like their outcomes."""
    if not has_tables(con, "perception_responses"):
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
