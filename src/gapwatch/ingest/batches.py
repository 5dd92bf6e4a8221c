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

import orjson
import pyarrow as pa

from gapwatch.config.schema import Source, WorkspaceConfig
from gapwatch.customers.erasure import erased_keys
from gapwatch.domain.experience import IngestJob, Vocabulary
from gapwatch.live.book import EMPTY_ROWS, ROW_COLUMNS
from gapwatch.ports import Store
from gapwatch.sqlport import one, rows

log = logging.getLogger(__name__)
EventStatus = Literal["accepted", "duplicate", "rejected"]
SUPPRESSED = "erased_customer"
SUPPRESSED_REASON = "the customer was erased; events for them are suppressed"
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

    def prepare_live(self) -> None: ...

    def checkpoint(self) -> bool: ...


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


@dataclass(frozen=True, slots=True)
class IngestedGroup:
    """What one group of requests gave: each request's outcome, and the experiences stored."""

    outcomes: list[BatchOutcome]
    stored: pa.Table  # ROW_COLUMNS of the accepted experiences (:mod:`gapwatch.live.book`)


def _line(record: dict[str, Any]) -> tuple[str, list[str]]:
    """One JSON line; an ``attributes`` object is lifted to top-level keys the mapping keeps.

    Keys that are not plain names (or clash with a record field) are kept together, as
    JSON text, under ``attr_other``, so nothing posted is lost.
    """
    attrs = record.get("attributes")
    if attrs is None:
        return _dumps(record), []
    if not isinstance(attrs, dict):
        return _dumps(record), ["attributes"]
    flat = dict(record)
    del flat["attributes"]
    names: list[str] = []
    other: dict[str, Any] = {}
    for key, value in attrs.items():
        if _plain_name(key) and len(names) < MAX_ATTRIBUTES:
            flat[key] = value
            names.append(key)
        else:
            other[key] = value
    if other:
        flat[OTHER_ATTRIBUTES] = _dumps(other)
        names.append(OTHER_ATTRIBUTES)
    return _dumps(flat), names


_PLAIN: dict[str, bool] = {}  # attribute names seen, judged once (few distinct names; bounded below)


def _plain_name(key: str) -> bool:
    """Whether ``key`` can be a top-level column: a plain name that is not a record field."""
    known = _PLAIN.get(key)
    if known is None:
        known = bool(ATTRIBUTE_NAME.fullmatch(key)) and key not in RECORD_FIELDS
        if len(_PLAIN) < 10_000:
            _PLAIN[key] = known
    return known


def _dumps(value: Any) -> str:
    """Compact JSON text (orjson: ten times faster than ``json``; ``json`` for what orjson refuses)."""
    try:
        return orjson.dumps(value, default=str).decode()
    except orjson.JSONEncodeError:  # an integer beyond 64 bits, a non-string key
        return json.dumps(value, default=str, separators=(",", ":"))


def _customer_key(store: LiveStore, record: dict[str, Any]) -> str | None:
    raw = record.get("customer_id")
    return store.pseudonym(str(raw)) if isinstance(raw, str | int) and str(raw) else None


def _suppressed(store: LiveStore, records: Sequence[dict[str, Any]]) -> set[int]:
    """Positions of events whose customer was erased (keys are computed only when any was)."""
    reader = store.reader()
    try:
        if one(reader, "SELECT 1 AS x FROM erased LIMIT 1") is None:  # the usual case: nobody erased
            return set()
        keys = {i: _customer_key(store, r) for i, r in enumerate(records)}
        erased = erased_keys(reader, sorted({k for k in keys.values() if k}))
    finally:
        reader.close()
    return {i for i, k in keys.items() if k in erased}


def ingest_records(
    store: LiveStore,
    records: Sequence[dict[str, Any]],
    source: str,
    config: WorkspaceConfig,
    closed_through: dt.date | None = None,
) -> BatchOutcome:
    """Ingest ``records`` from ``source`` in one transaction; per-event results in request order."""
    return ingest_batches(store, [records], source, config, closed_through).outcomes[0]


def ingest_batches(
    store: LiveStore,
    batches: Sequence[Sequence[dict[str, Any]]],
    source: str,
    config: WorkspaceConfig,
    closed_through: dt.date | None = None,
) -> IngestedGroup:
    """Ingest several requests from ``source`` as one chunk in one transaction (a group commit).

    The outcomes are what ingesting the requests one after the other would give: one outcome
    per request, its events in request order; an event repeated in a later request of the
    group is that request's duplicate (or conflict). The experiences stored come back too
    (the columns live detection aggregates), so that it need not look for them in the store.
    """
    records = [r for batch in batches for r in batch]
    local = [j for batch in batches for j in range(len(batch))]  # each event's index in its request
    results: list[EventResult | None] = [None] * len(records)
    suppressed = _suppressed(store, records)
    lines: list[str] = []
    stored = EMPTY_ROWS
    rows_idx: list[int] = []
    attributes: dict[str, None] = {}
    for i, record in enumerate(records):
        if i in suppressed:
            results[i] = EventResult(local[i], _eid(record), "rejected", SUPPRESSED, SUPPRESSED_REASON)
            continue
        line, names = _line(record)
        if names:
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
        counts = store.write_chunk(store.prepare_ingest(job), chunk)
        marks: list[dict[str, Any]] = []
        with store.transaction() as con:  # which rows: the chunk ingest's own tables say
            if counts.rejected or counts.duplicate:
                marks = rows(con, _MARKS if counts.rejected else _DUPLICATES)
            if counts.accepted:
                stored = con.sql(_STORED).to_arrow_table()
        _per_event(rows_idx, local, records, marks, results)
        mine = Counter(r.status for i, r in enumerate(results) if r is not None and i not in suppressed)
        if (mine["accepted"], mine["duplicate"], mine["rejected"]) != (
            counts.accepted,
            counts.duplicate,
            counts.rejected,
        ):
            log.error("per-event results %s disagree with the store's counts %s", dict(mine), counts)
    outcomes: list[BatchOutcome] = []
    start = 0
    for batch in batches:
        mine_ = results[start : start + len(batch)]
        outcomes.append(BatchOutcome(source, [r for r in mine_ if r is not None]))
        start += len(batch)
    return IngestedGroup(outcomes, stored)


# The chunk ingest's own verdicts, left in temp tables of the writer connection: rejects
# (with reasons, conflicts included) in ``__gw_rej_in``, written only when the chunk had any;
# repeats of a stored or earlier event in ``__gw_dup`` (pos = row * 64 + entry; an API record
# yields one entry per row). Everything else in the chunk was accepted.
_DUPLICATES = (
    "SELECT pos // 64 AS row, NULL AS reason_code, NULL AS reason FROM __gw_dup WHERE outcome = 'duplicate'"
)
_STORED = (
    f"SELECT {', '.join(ROW_COLUMNS)} FROM __gw_stage s WHERE code IS NULL AND NOT EXISTS "
    "(SELECT 1 FROM __gw_dup d WHERE d.pos = s.pos AND d.outcome <> 'accepted')"
)
_MARKS = f"SELECT row_number AS row, reason_code, reason FROM __gw_rej_in UNION ALL {_DUPLICATES}"


def _eid(record: dict[str, Any]) -> str | None:
    """The event id as the JSON mapping reads it (a string, or a scalar's JSON text)."""
    raw = record.get("event_id")
    if raw is None:
        return None
    return raw if isinstance(raw, str) else json.dumps(raw)


def _per_event(
    rows_idx: list[int],
    local: list[int],
    records: Sequence[dict[str, Any]],
    marks: list[dict[str, Any]],
    results: list[EventResult | None],
) -> None:
    """Each chunk row's status into ``results``: rejected with its reason, duplicate, else accepted."""
    why = {int(r["row"]): r for r in marks}
    for n, i in enumerate(rows_idx, start=1):
        eid = _eid(records[i])
        mark = why.get(n)
        if mark is None:
            results[i] = EventResult(local[i], eid, "accepted")
        elif mark["reason_code"] is None:
            results[i] = EventResult(local[i], eid, "duplicate")
        else:
            code, reason = str(mark["reason_code"]), str(mark["reason"])
            results[i] = EventResult(local[i], eid, "rejected", code, reason)
