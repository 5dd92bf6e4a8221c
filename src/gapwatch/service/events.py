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
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import pyarrow as pa

from gapwatch.config.schema import Source, WorkspaceConfig
from gapwatch.domain.experience import IngestJob, Vocabulary
from gapwatch.ports import Store
from gapwatch.service.customers import erased_keys
from gapwatch.service.sqlport import Sql, rows

EventStatus = Literal["accepted", "duplicate", "rejected"]
SUPPRESSED = "erased_customer"
RECORD_FIELDS = ("event_id", "customer_id", "anonymous_id", "occurred_at", "moment", "metric", "value",
                 "segment", "expected", "text")
_ROW, _LINE = "__gw_row", "__gw_line"


class LiveStore(Store, Protocol):
    """A store the live service can own: read cursors and the writer's transactions."""

    def reader(self) -> Any: ...

    def transaction(self) -> AbstractContextManager[Any]: ...


def record_source(attributes: Sequence[str] = ()) -> Source:
    """The source mapping of the experience record itself (DESIGN.md), keeping ``attributes``."""
    return Source.model_validate({
        "description": "experience records posted to the API", "format": "jsonl", "event_id": ["event_id"],
        "customer_id": {"column": "customer_id", "default": None},
        "anonymous_id": {"column": "anonymous_id", "default": None},
        "occurred_at": "occurred_at", "moment": {"column": "moment"},
        "segment": {"column": "segment", "default": "all"},
        "experiences": [{"metric": {"column": "metric"}, "value": "value", "expected": "expected"}],
        "text": "text", "attributes": list(attributes),
    })


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
    """One JSON line; an ``attributes`` object is lifted to top-level keys the mapping keeps."""
    attrs = record.get("attributes")
    if not isinstance(attrs, dict):
        return json.dumps(record, default=str), ["attributes"] if attrs is not None else []
    flat = {k: v for k, v in record.items() if k != "attributes"}
    names = []
    for key, value in attrs.items():
        name = key if key not in RECORD_FIELDS and not key.startswith("__gw") else f"attr_{key}"
        flat[name] = value
        names.append(name)
    return json.dumps(flat, default=str), names


def _customer_key(store: LiveStore, record: dict[str, Any]) -> str | None:
    raw = record.get("customer_id")
    return store.pseudonym(str(raw)) if isinstance(raw, str | int) and str(raw) else None


def ingest_records(store: LiveStore, records: Sequence[dict[str, Any]], source: str, config: WorkspaceConfig,
                   closed_through: dt.date | None = None) -> BatchOutcome:
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
            results[i] = EventResult(i, _eid(record), "rejected", SUPPRESSED,
                                     "the customer was erased; events for them are suppressed")
            continue
        line, names = _line(record)
        attributes.update(dict.fromkeys(names))
        lines.append(line)
        rows_idx.append(i)
    if lines:
        job = IngestJob(source, record_source(sorted(attributes)), Vocabulary.from_config(config), "api",
                        "jsonl", closed_through)
        numbers = pa.array(range(1, len(lines) + 1), pa.int64())
        chunk = pa.table({_ROW: numbers, _LINE: pa.array(lines, pa.string())})
        store.write_chunk(store.prepare_ingest(job), chunk)
        with store.transaction() as con:
            results.update(_chunk_results(con, rows_idx, records))
    return BatchOutcome(source, [results[i] for i in range(len(records))])


def _eid(record: dict[str, Any]) -> str | None:
    raw = record.get("event_id")
    return None if raw is None else str(raw)[:128]


def _chunk_results(
    con: Sql, rows_idx: list[int], records: Sequence[dict[str, Any]]
) -> dict[int, EventResult]:
    """Per-row outcomes the chunk ingest left on the writer connection (its temp tables)."""
    final = rows(con, f"SELECT {_ROW} AS row, outcome, code2 AS code, message FROM __gw_final")
    rejects = rows(con, "SELECT row_number AS row, reason_code, reason FROM __gw_rej_in")
    reasons = {r["row"]: r for r in rejects}
    out: dict[int, EventResult] = {}
    for r in final:
        i = rows_idx[int(r["row"]) - 1]
        status: EventStatus = r["outcome"] if r["outcome"] in ("accepted", "duplicate") else "rejected"
        why = reasons.get(r["row"], {})
        code = why.get("reason_code") or r["code"] if status == "rejected" else None
        reason = why.get("reason") or r["message"] if status == "rejected" else None
        out[i] = EventResult(i, _eid(records[i]), status, code, reason)
    for n, i in enumerate(rows_idx, start=1):  # a row that yielded no experience at all
        out.setdefault(i, EventResult(i, _eid(records[i]), "rejected", "no_experience",
                                      f"row {n} yielded no experience"))
    return out
