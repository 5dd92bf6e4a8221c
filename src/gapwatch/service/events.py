"""Live ingest: a batch of experience records from the API through the one ingest path.

The records become raw JSON lines and go through the store's own chunk ingest — the
same mapping, validation, pseudonymisation, dedupe and scoring as a JSONL file — with
:data:`RECORD_SOURCE`, the mapping of DESIGN.md's experience record onto itself. So batch
and live are one path, and rejected events land in the same ``rejected`` table with
their raw payload and reason. Events of erased customers are suppressed before that:
counted as rejected (``erased_customer``), their payload not stored.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections import Counter
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import pyarrow as pa

from gapwatch.config.schema import Source, WorkspaceConfig
from gapwatch.domain.experience import IngestJob, Vocabulary
from gapwatch.ports import Store
from gapwatch.service.customers import erased_keys
from gapwatch.service.sqlport import rows

log = logging.getLogger(__name__)
EventStatus = Literal["accepted", "duplicate", "rejected"]
SUPPRESSED = "erased_customer"
RECORD_FIELDS = (
    "event_id",
    "customer_id",
    "anonymous_id",
    "occurred_at",
    "moment",
    "metric",
    "value",
    "segment",
    "expected",
    "text",
)
_ROW, _LINE = "__gw_row", "__gw_line"
ATTRIBUTE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
MAX_ATTRIBUTES = 32  # named attributes per event; more go to attr_other
OTHER_ATTRIBUTES = "attr_other"


class LiveStore(Store, Protocol):
    """A store the live service can own: read cursors and the writer's transactions."""

    def reader(self) -> Any: ...

    def transaction(self) -> AbstractContextManager[Any]: ...


def record_source(attributes: Sequence[str] = ()) -> Source:
    """The source mapping of the experience record itself (DESIGN.md), keeping ``attributes``."""
    return Source.model_validate(
        {
            "description": "experience records posted to the API",
            "format": "jsonl",
            "event_id": ["event_id"],
            "customer_id": {"column": "customer_id", "default": None},
            "anonymous_id": {"column": "anonymous_id", "default": None},
            "occurred_at": "occurred_at",
            "moment": {"column": "moment"},
            "segment": {"column": "segment", "default": "all"},
            "experiences": [{"metric": {"column": "metric"}, "value": "value", "expected": "expected"}],
            "text": "text",
            "attributes": list(attributes),
        }
    )


RECORD_SOURCE = record_source()


@dataclass(frozen=True, slots=True)
class EventResult:
    index: int
    event_id: str | None
    status: EventStatus
    reason_code: str | None = None
    reason: str | None = None


@dataclass(slots=True)
class BatchOutcome:
    """Per-event results of one batch; ``received == accepted + duplicate + rejected``."""

    source: str
    results: list[EventResult]
    alerts: list[Any] = field(default_factory=list)

    def count(self, status: EventStatus) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def received(self) -> int:
        return len(self.results)


def _line(record: dict[str, Any]) -> tuple[str, list[str]]:
    """One JSON line; an ``attributes`` object is lifted to top-level keys the mapping keeps.

    Keys that are not plain names (or clash with a record field) are kept together, as
    JSON text, under ``attr_other``, so nothing posted is lost.
    """
    attrs = record.get("attributes")
    if not isinstance(attrs, dict):
        return json.dumps(record, default=str), ["attributes"] if attrs is not None else []
    flat = {k: v for k, v in record.items() if k != "attributes"}
    names: list[str] = []
    other: dict[str, Any] = {}
    for key, value in attrs.items():
        if ATTRIBUTE_NAME.fullmatch(key) and key not in RECORD_FIELDS and len(names) < MAX_ATTRIBUTES:
            flat[key] = value
            names.append(key)
        else:
            other[key] = value
    if other:
        flat[OTHER_ATTRIBUTES] = json.dumps(other, default=str)
        names.append(OTHER_ATTRIBUTES)
    return json.dumps(flat, default=str), names


def _customer_key(store: LiveStore, record: dict[str, Any]) -> str | None:
    raw = record.get("customer_id")
    return store.pseudonym(str(raw)) if isinstance(raw, str | int) and str(raw) else None


def ingest_records(
    store: LiveStore,
    records: Sequence[dict[str, Any]],
    source: str,
    config: WorkspaceConfig,
    closed_through: dt.date | None = None,
) -> BatchOutcome:
    """Ingest ``records`` from ``source`` in one transaction; per-event results in request order."""
    results: dict[int, EventResult] = {}
    keys = {i: _customer_key(store, r) for i, r in enumerate(records)}
    reader = store.reader()
    try:
        erased = erased_keys(reader, sorted({k for k in keys.values() if k}))
    finally:
        reader.close()
    lines: list[str] = []
    rows_idx: list[int] = []
    attributes: dict[str, None] = {}
    for i, record in enumerate(records):
        if keys[i] in erased:
            results[i] = EventResult(
                i,
                _eid(record),
                "rejected",
                SUPPRESSED,
                "the customer was erased; events for them are suppressed",
            )
            continue
        line, names = _line(record)
        attributes.update(dict.fromkeys(names))
        lines.append(line)
        rows_idx.append(i)
    if lines:
        job = IngestJob(
            source,
            record_source(sorted(attributes)),
            Vocabulary.from_config(config),
            "api",
            "jsonl",
            closed_through,
        )
        numbers = pa.array(range(1, len(lines) + 1), pa.int64())
        chunk = pa.table({_ROW: numbers, _LINE: pa.array(lines, pa.string())})
        known = _stored_ids(store, source, [_eid(records[i]) for i in rows_idx])
        counts = store.write_chunk(store.prepare_ingest(job), chunk)
        with store.transaction() as con:
            rejects = rows(con, "SELECT row_number AS row, reason_code, reason FROM __gw_rej_in")
        per_event = _per_event(rows_idx, records, rejects, known)
        mine = Counter(r.status for r in per_event.values())
        if (mine["accepted"], mine["duplicate"], mine["rejected"]) != (
            counts.accepted,
            counts.duplicate,
            counts.rejected,
        ):
            log.error("per-event results %s disagree with the store's counts %s", dict(mine), counts)
        results.update(per_event)
    return BatchOutcome(source, [results[i] for i in range(len(records))])


def _eid(record: dict[str, Any]) -> str | None:
    """The event id as the JSON mapping reads it (a string, or a scalar's JSON text)."""
    raw = record.get("event_id")
    if raw is None:
        return None
    return raw if isinstance(raw, str) else json.dumps(raw)


def _stored_ids(store: LiveStore, source: str, event_ids: list[str | None]) -> set[str]:
    """Which of ``event_ids`` the source has already stored (read before the chunk is written)."""
    wanted = sorted({e for e in event_ids if e is not None})
    if not wanted:
        return set()
    cur = store.reader()
    try:
        found = rows(
            cur,
            "SELECT DISTINCT event_id FROM experiences WHERE source = ? AND list_contains(?, event_id)",
            [source, wanted],
        )
    finally:
        cur.close()
    return {str(r["event_id"]) for r in found}


def _per_event(
    rows_idx: list[int], records: Sequence[dict[str, Any]], rejects: list[dict[str, Any]], known: set[str]
) -> dict[int, EventResult]:
    """Each event's status: rejected with its reason, else the first new id accepted, repeats duplicates.

    The chunk ingest reports rejects per row (``__gw_rej_in``, the table its reject upsert
    reads); an event it did not reject is a duplicate exactly when its id was stored before
    or came earlier in the same batch (a repeat with another payload is a rejected conflict).
    """
    why = {int(r["row"]): r for r in rejects}
    seen = set(known)
    out: dict[int, EventResult] = {}
    for n, i in enumerate(rows_idx, start=1):
        eid = _eid(records[i])
        if n in why:
            out[i] = EventResult(i, eid, "rejected", str(why[n]["reason_code"]), str(why[n]["reason"]))
        elif eid in seen:
            out[i] = EventResult(i, eid, "duplicate")
        else:
            seen.add(str(eid))
            out[i] = EventResult(i, eid, "accepted")
    return out
