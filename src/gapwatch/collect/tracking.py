"""Tracked calls → experience records, behaviour and identity links, per the source's mapping.

A ``track`` call whose event name (or a ``page`` / ``screen`` call whose name) the source maps
becomes one experience record per mapped metric — DESIGN.md's record, with the message id as
its event id — and goes through the one ingest path. Every other call is behaviour: kept,
counted, shown in the customer's journey. Any message carrying both ``userId`` and
``anonymousId`` (an ``identify`` above all), and an ``alias``, links the two ids.

Examples
--------
>>> import datetime as dt
>>> from gapwatch.config import default_config
>>> from gapwatch.collect.messages import read_messages
>>> now = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)
>>> msgs, bad = read_messages([
...     {"type": "track", "event": "Order Delivered", "userId": "C1", "anonymousId": "V9",
...      "messageId": "m1", "timestamp": "2026-03-02T10:00:00Z",
...      "properties": {"delivery_days": 4, "promised_days": 3, "tier": "premium"}},
...     {"type": "page", "name": "Pricing", "anonymousId": "V9", "messageId": "m2"}], None, now)
>>> got = map_tracking("segment", default_config().tracking["segment"], msgs, bad, 2)
>>> rec = got.experiences[0][1]
>>> rec["moment"], rec["metric"], rec["value"], rec["expected"], rec["segment"]
('delivery', 'delivery_days', 4, 3, 'premium')
>>> [b.type for b in got.behaviour], got.links
(['page'], [(0, 'C1', 'V9')])
"""

from __future__ import annotations

from typing import Any

import orjson

from gapwatch.collect import fields
from gapwatch.collect.collected import Behaviour, Collected
from gapwatch.collect.messages import Message
from gapwatch.collect.results import Rejection
from gapwatch.config.collect import TrackedEvent, TrackingSource
from gapwatch.config.jsonpath import MISSING
from gapwatch.domain.experience import METRIC_SUFFIX

MAX_PROPERTIES = 4000  # characters of a behaviour row's properties (JSON); more are dropped


def map_tracking(
    source: str, tracking: TrackingSource, messages: list[Message], rejected: list[Rejection], total: int
) -> Collected:
    """Map a request's checked ``messages`` (``rejected`` ones are kept as they are)."""
    entries = {e.call: e for e in tracking.events}
    out = Collected(source, "collect", total, rejections=list(rejected))
    for r in rejected:
        out.people[r.index] = (r.user_id, r.anonymous_id)
    for m in messages:
        out.people[m.index] = (m.user_id, m.anonymous_id)
        if m.user_id is not None and m.anonymous_id is not None:
            out.links.append((m.index, m.user_id, m.anonymous_id))
        if m.type == "alias" and m.previous_id is not None and m.user_id is not None:
            out.links.append((m.index, m.user_id, m.previous_id))
        entry = entries.get((m.type, m.name or "")) if m.type in ("track", "page", "screen") else None
        if entry is None:
            out.behaviour.append(_behaviour(m))
            continue
        records = _records(m, entry)
        if records:
            out.experiences += [(m.index, r) for r in records]
        else:
            reason = "the event yields no experience: every mapped value is absent"
            out.rejections.append(
                Rejection(m.index, m.message_id, m.raw, "no_experience", reason, *_ids(m), "experience")
            )
    return out


def _ids(m: Message) -> tuple[str | None, str | None]:
    return m.user_id, m.anonymous_id


def _records(m: Message, entry: TrackedEvent) -> list[dict[str, Any]]:
    """One experience record per mapped metric whose value is there (an optional one may be absent)."""
    base: dict[str, Any] = {
        "customer_id": m.user_id,
        "anonymous_id": m.anonymous_id,
        "occurred_at": m.occurred_at.isoformat(),
        "moment": entry.moment,
    }
    segment = fields.value(entry.segment, m.raw)
    if segment is not MISSING:
        base["segment"] = segment
    text = fields.value(entry.text, m.raw)
    if text is not MISSING:
        base["text"] = text
    attributes = {p.last: v for p in entry.attributes if (v := p.get(m.raw)) is not MISSING}
    if attributes:
        base["attributes"] = attributes
    several = len(entry.experiences) > 1
    records = []
    for exp in entry.experiences:
        value = fields.value(exp.value, m.raw)
        if value is MISSING and exp.optional:
            continue
        expected = fields.value(exp.expected, m.raw)
        records.append(
            {
                **base,
                "event_id": f"{m.message_id}{METRIC_SUFFIX}{exp.metric}" if several else m.message_id,
                "metric": exp.metric,
                "value": None if value is MISSING else value,
                "expected": None if expected is MISSING else expected,
            }
        )
    return records


def _behaviour(m: Message) -> Behaviour:
    props = m.raw.get("properties") if m.type in ("track", "page", "screen") else None
    text = orjson.dumps(props).decode() if props else None
    if text is not None and len(text) > MAX_PROPERTIES:
        dropped = {"_dropped": f"{len(text)} characters of properties (over {MAX_PROPERTIES})"}
        text = orjson.dumps(dropped).decode()
    return Behaviour(m.index, m.message_id, m.type, m.name, m.user_id, m.anonymous_id, m.occurred_at, text)
