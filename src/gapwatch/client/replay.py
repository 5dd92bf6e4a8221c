"""Replay a simulated world into a live server, in event-time order.

The world's source files are first read through the store's own ingest path into a
throwaway in-memory store (the same mappings, validation and scoring as ``gapwatch
ingest``); its accepted experiences, with their real ids restored from the identity
table, become experience records posted to ``POST /v1/events``. Rows the mapping
rejects would be rejected by the server too, so they are not sent.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gapwatch.client.http import GapwatchClient, PostSummary
from gapwatch.config.schema import WorkspaceConfig

_RECORDS = """
SELECT e.source, e.event_id, ci.customer_id, ai.customer_id AS anonymous_id, e.occurred_at, e.moment,
       e.segment, e.metric, e.value, e.expected, e.text, CAST(e.attributes AS VARCHAR) AS attributes
FROM experiences e
LEFT JOIN identities ci ON ci.customer_key = e.customer_key AND ci.kind = 'customer'
LEFT JOIN identities ai ON ai.customer_key = e.anonymous_key AND ai.kind = 'anonymous'
ORDER BY e.occurred_at, e.source, e.event_id
"""


def parse_speed(text: str) -> float | None:
    """``max`` → None (as fast as the server accepts); ``3600x`` → 3600.0 event seconds per second."""
    if text == "max":
        return None
    try:
        factor = float(text.removesuffix("x"))
    except ValueError as exc:
        raise ValueError(f"speed must be 'max' or a factor like '3600x', not {text!r}") from exc
    if factor <= 0:
        raise ValueError("the speed factor must be positive")
    return factor


def world_records(folder: Path, config: WorkspaceConfig) -> Iterator[tuple[str, dict[str, Any]]]:
    """(source, experience record) for every accepted experience of the world, oldest first."""
    from gapwatch.adapters.duckdb_store import DuckDBStore
    from gapwatch.ingest.files import ingest_file

    with DuckDBStore(timezone=config.workspace.timezone) as store:
        for name, source in config.sources.items():
            path = folder / f"{name}.csv"
            if source.kind == "experience" and path.exists():
                ingest_file(store, path, name, config=config)
        for row in store.query(_RECORDS).to_pylist():
            source = row.pop("source")
            row["occurred_at"] = row["occurred_at"].isoformat()
            row["attributes"] = json.loads(row["attributes"]) if row["attributes"] else None
            yield source, {k: v for k, v in row.items() if v is not None}


@dataclass
class Replayer:
    """Post records in event-time order, one source per batch, paced by ``speed``.

    Every day (in ``timezone``, the workspace's) is posted whole before the next one starts, so
    on the server's event-time clock no event arrives after its day has closed (a source's
    batch never waits for a slower source's into the next day).
    """

    client: GapwatchClient
    speed: float | None = None
    sleep: Callable[[float], None] = time.sleep
    timezone: str = "UTC"

    def run(self, records: Iterator[tuple[str, dict[str, Any]]]) -> PostSummary:
        from zoneinfo import ZoneInfo

        zone = ZoneInfo(self.timezone)
        total = PostSummary()
        buffers: dict[str, list[dict[str, Any]]] = {}
        first: dt.datetime | None = None
        day: dt.date | None = None
        started = time.monotonic()
        for source, record in records:
            at = dt.datetime.fromisoformat(record["occurred_at"])
            today = (at if at.tzinfo else at.replace(tzinfo=zone)).astimezone(zone).date()
            if day is not None and today != day:
                self._flush_all(buffers, total)
            day = today
            if self.speed is not None:
                first = first or at
                due = (at - first).total_seconds() / self.speed - (time.monotonic() - started)
                if due > 0:
                    self._flush_all(buffers, total)
                    self.sleep(due)
            buffer = buffers.setdefault(source, [])
            buffer.append(record)
            if len(buffer) >= self.client.batch_size:
                self._flush(source, buffers, total)
        self._flush_all(buffers, total)
        return total

    def _flush(self, source: str, buffers: dict[str, list[dict[str, Any]]], total: PostSummary) -> None:
        batch, buffers[source] = buffers[source], []
        if batch:
            part = self.client.post_events(batch, source=source)
            for key in ("batches", "received", "accepted", "duplicate", "rejected"):
                setattr(total, key, getattr(total, key) + getattr(part, key))
            for code, n in part.reasons.items():
                total.reasons[code] = total.reasons.get(code, 0) + n

    def _flush_all(self, buffers: dict[str, list[dict[str, Any]]], total: PostSummary) -> None:
        for source in list(buffers):
            self._flush(source, buffers, total)
