"""The writer's job for collected requests: suppress, ingest, store behaviour and links, answer.

Requests of one source that wait in the writer's queue together are written as one group,
like ``POST /v1/events`` batches: their experience records go through
:func:`~gapwatch.ingest.batches.ingest_batches` as one chunk (the one ingest path: mapping,
validation, pseudonymisation, dedupe, scoring), their outcome records likewise per outcome,
then behaviour rows, identity links and rejected messages in one more transaction. Each
request is answered only after all of that is committed: an acknowledged message is durable.
A retry of a request whose answer was lost is safe: every part is idempotent (event ids,
message ids, links; a rejected row rejected again is counted, not stored twice).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
import pyarrow as pa

from gapwatch.collect.collected import Collected
from gapwatch.collect.results import SUPPRESSED, SUPPRESSED_REASON, CollectAnswer, ItemResult, Kind
from gapwatch.config.schema import WorkspaceConfig
from gapwatch.domain.bounds import EventWindow, IdCase, id_case
from gapwatch.ingest.batches import LiveStore, ingest_batches
from gapwatch.live.book import EMPTY_ROWS

Pos = tuple[int, int]  # (request in the group, message index in the request)


class CollectStore(LiveStore, Protocol):
    """The store operations collecting needs besides the chunk ingest."""

    def erased_ids(self, ids: pa.Table, id_case: IdCase = "lower") -> list[tuple[str, str]]: ...

    def write_collected(
        self,
        source: str,
        behaviour: pa.Table,
        links: pa.Table,
        rejects: pa.Table,
        file: str,
        id_case: IdCase = "lower",
    ) -> pa.Table: ...


@dataclass(frozen=True, slots=True)
class WrittenGroup:
    answers: list[CollectAnswer]
    stored: pa.Table  # experiences stored, for live detection (ingest.batches.IngestedGroup.stored)


def write_group(
    store: CollectStore,
    config: WorkspaceConfig,
    items: Sequence[Collected],
    closed_through: dt.date | None = None,
    window: EventWindow | None = None,
) -> WrittenGroup:
    """Store a group of collected requests of one source; one answer per request, in order."""
    source = items[0].source
    answers = [CollectAnswer(c.source, c.messages, ignored=c.ignored) for c in items]
    case = id_case(config, None)  # tracking and webhook sources follow the workspace's rule
    erased = _erased(store, items, case)
    for n, index in sorted(erased):
        answers[n].results.append(
            ItemResult(index, None, "behaviour", "rejected", SUPPRESSED, SUPPRESSED_REASON)
        )
    stored = _records(store, config, items, erased, answers, closed_through, window)
    _rest(store, source, items, erased, answers, case)
    return WrittenGroup(answers, stored)


def _erased(store: CollectStore, items: Sequence[Collected], case: IdCase) -> set[Pos]:
    """Messages naming an erased customer or visitor: suppressed, their payload not stored."""
    raw, kinds, where = [], [], []
    for n, c in enumerate(items):
        for index, (user, anon) in c.people.items():
            for value, kind in ((user, "customer"), (anon, "anonymous")):
                if value is not None:
                    raw.append(value)
                    kinds.append(kind)
                    where.append((n, index, value, kind))
    if not raw:
        return set()
    hit = set(store.erased_ids(pa.table({"raw": raw, "kind": kinds}), case))
    return {(n, index) for n, index, value, kind in where if (value, kind) in hit} if hit else set()


def _records(
    store: CollectStore,
    config: WorkspaceConfig,
    items: Sequence[Collected],
    erased: set[Pos],
    answers: list[CollectAnswer],
    closed_through: dt.date | None,
    window: EventWindow | None,
) -> pa.Table:
    """Experience records, then each outcome's records, through the one ingest path."""
    stored = EMPTY_ROWS
    kinds: list[tuple[Kind, str | None, list[list[tuple[int, dict[str, Any]]]]]] = [
        ("experience", None, [c.experiences for c in items])
    ]
    names = sorted({name for c in items for name in c.outcomes})
    kinds += [("outcome", name, [c.outcomes.get(name, []) for c in items]) for name in names]
    for kind, outcome, per_request in kinds:
        kept = [[(i, r) for i, r in recs if (n, i) not in erased] for n, recs in enumerate(per_request)]
        if not any(kept):
            continue
        group = ingest_batches(
            store,
            [[r for _, r in recs] for recs in kept],
            items[0].source,
            config,
            closed_through,
            window,
            outcome=outcome,
        )
        for n, (recs, outcome_) in enumerate(zip(kept, group.outcomes, strict=True)):
            for r in outcome_.results:
                index = recs[r.index][0]
                answers[n].results.append(
                    ItemResult(index, r.event_id, kind, r.status, r.reason_code, r.reason)
                )
        if kind == "experience":
            stored = group.stored
    return stored


def _rest(
    store: CollectStore,
    source: str,
    items: Sequence[Collected],
    erased: set[Pos],
    answers: list[CollectAnswer],
    case: IdCase,
) -> None:
    """Behaviour rows, identity links and rejected messages: one transaction."""
    b: dict[str, list[Any]] = {k: [] for k in ("pos", "message_id", "type", "name", "customer_id")}
    b.update({k: [] for k in ("anonymous_id", "occurred_at", "properties")})
    links: dict[str, list[Any]] = {"customer_id": [], "anonymous_id": []}
    rej: dict[str, list[Any]] = {k: [] for k in ("row_number", "event_id", "raw", "reason", "reason_code")}
    rej.update({"customer_id": [], "anonymous_id": []})
    for n, c in enumerate(items):
        for row in c.behaviour:
            if (n, row.index) in erased:
                continue
            b["pos"].append(_pos(n, row.index))
            for key in ("message_id", "type", "name", "occurred_at", "properties"):
                b[key].append(getattr(row, key))
            b["customer_id"].append(row.user_id)
            b["anonymous_id"].append(row.anonymous_id)
        for index, user, anon in c.links:
            if (n, index) not in erased:
                links["customer_id"].append(user)
                links["anonymous_id"].append(anon)
        for r in c.rejections:
            if (n, r.index) in erased:
                continue
            answers[n].results.append(ItemResult(r.index, r.event_id, r.kind, "rejected", r.code, r.reason))
            values = (r.index + 1, r.event_id, _json(r.raw), r.reason, r.code, r.user_id, r.anonymous_id)
            for key, value in zip(rej, values, strict=True):
                rej[key].append(value)
    if not (b["pos"] or links["customer_id"] or rej["row_number"]):
        return
    statuses = store.write_collected(source, pa.table(b), pa.table(links), pa.table(rej), items[0].file, case)
    by_pos = dict(zip(statuses.column("pos").to_pylist(), statuses.column("status").to_pylist(), strict=True))
    for n, c in enumerate(items):
        for row in c.behaviour:
            if (n, row.index) not in erased:
                status = by_pos[_pos(n, row.index)]
                answers[n].results.append(ItemResult(row.index, row.message_id, "behaviour", status))


def _pos(n: int, index: int) -> int:
    return (n << 32) | index


def _json(raw: Any) -> str:
    """A rejected message as JSON text (kept whole: it is what was posted)."""
    try:
        return orjson.dumps(raw).decode()
    except (orjson.JSONEncodeError, TypeError):
        return orjson.dumps(str(raw)).decode()
