"""``gapwatch check --samples FILE --source NAME``: what a mapping makes of sample messages.

The samples go through the very path a live request takes — the message checks, the
source's mapping, then the ingest path's validation, dedupe and scoring — on a throwaway
in-memory store that holds the workspace's expectations, so the verdicts are the ones the
server would give (a rejected record comes with the reason it would be stored with) and
nothing is written to the workspace.

Samples are what a sender posts: for a tracking source a batch body (``{"batch": [...]}``),
a list of messages or one message, or JSON lines of any of these; for a webhook source one
delivery, or JSON lines of deliveries.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gapwatch.adapters.duckdb_store import DuckDBStore
from gapwatch.adapters.service_schema import ensure_service_schema
from gapwatch.collect.collected import Collected
from gapwatch.collect.messages import read_messages
from gapwatch.collect.results import CollectAnswer
from gapwatch.collect.tracking import map_tracking
from gapwatch.collect.webhooks import map_webhook
from gapwatch.collect.write import write_group
from gapwatch.config.schema import WorkspaceConfig
from gapwatch.expectations import sync_expectations

MAX_SAMPLE_BYTES = 64 << 20


class SampleError(ValueError):
    """Samples that cannot be read, or a source that is neither a tracking nor a webhook source."""


@dataclass(frozen=True, slots=True)
class SampleRecord:
    """One record a sample became, with the verdict the server would give it."""

    sample: int
    index: int
    kind: str
    event_id: str | None
    status: str
    reason_code: str | None
    reason: str | None
    mapped: dict[str, Any] | None  # the experience or outcome record (None for behaviour)


@dataclass(slots=True)
class SampleCheck:
    source: str
    kind: str  # "tracking" or "webhook"
    messages: int = 0
    ignored: int = 0
    records: list[SampleRecord] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for r in self.records if r.status == status)

    @property
    def ok(self) -> bool:
        return self.count("rejected") == 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "kind": self.kind,
            "messages": self.messages,
            "ignored": self.ignored,
            "records": len(self.records),
            "accepted": self.count("accepted"),
            "duplicate": self.count("duplicate"),
            "rejected": self.count("rejected"),
            "results": [
                {
                    "sample": r.sample,
                    "index": r.index,
                    "kind": r.kind,
                    "event_id": r.event_id,
                    "status": r.status,
                    "reason_code": r.reason_code,
                    "reason": r.reason,
                    "mapped": r.mapped,
                }
                for r in self.records
            ],
        }


def read_samples(path: Path) -> list[Any]:
    """The JSON documents of a samples file (one JSON value, or JSON lines)."""
    try:
        if path.stat().st_size > MAX_SAMPLE_BYTES:
            raise SampleError(f"{path}: over {MAX_SAMPLE_BYTES >> 20} MB of samples")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SampleError(f"{path}: cannot read ({exc})") from exc
    try:
        return [json.loads(text)]
    except json.JSONDecodeError:
        pass
    docs = []
    for n, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                docs.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise SampleError(f"{path}, line {n}: not JSON ({exc.msg})") from exc
    return docs


def check_samples(config: WorkspaceConfig, source: str, docs: list[Any]) -> SampleCheck:
    """Map ``docs`` with ``source``'s mapping and judge every record as the server would."""
    now = dt.datetime.now(dt.UTC)
    if source in config.tracking:
        check = SampleCheck(source, "tracking")
        collected = [_tracking(config, source, doc, now) for doc in docs]
    elif source in config.webhooks:
        check = SampleCheck(source, "webhook")
        collected = [map_webhook(source, config.webhooks[source], doc) for doc in docs]
    else:
        known = ", ".join([*config.tracking, *config.webhooks]) or "none"
        raise SampleError(f"{source!r} is not a tracking or webhook source (declared: {known})")
    with DuckDBStore(timezone=config.workspace.timezone) as store:
        sync_expectations(store, config)
        with store.transaction() as con:
            ensure_service_schema(con)  # the live path checks the suppression list
        answers = write_group(store, config, collected).answers if collected else []
    for n, (c, answer) in enumerate(zip(collected, answers, strict=True)):
        check.messages += c.messages
        check.ignored += c.ignored
        check.records += _records(n, c, answer)
    return check


def _tracking(config: WorkspaceConfig, source: str, doc: Any, now: dt.datetime) -> Collected:
    if isinstance(doc, dict) and isinstance(doc.get("batch"), list):
        messages, sent_at = doc["batch"], doc.get("sentAt")
    else:
        messages, sent_at = (doc if isinstance(doc, list) else [doc]), None
    ok, bad = read_messages(messages, sent_at, now)
    return map_tracking(source, config.tracking[source], ok, bad, len(messages))


def _records(n: int, collected: Collected, answer: CollectAnswer) -> list[SampleRecord]:
    mapped: dict[tuple[int, str], dict[str, Any]] = {}
    for index, record in collected.experiences + [r for rs in collected.outcomes.values() for r in rs]:
        mapped[(index, str(record.get("event_id")))] = record
    return [
        SampleRecord(
            n,
            r.index,
            r.kind,
            r.event_id,
            r.status,
            r.reason_code,
            r.reason,
            mapped.get((r.index, str(r.event_id))),
        )
        for r in sorted(answer.results, key=lambda r: r.index)
    ]
