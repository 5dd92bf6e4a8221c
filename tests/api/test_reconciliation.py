"""Reconciliation: for a mixed stream with ≥ 20% invalid events, received = stored + duplicate + rejected."""

from __future__ import annotations

import random
from typing import Any

from apihelpers import Tokens, bearer
from httpx import Client

from gapwatch.api import Runtime

BAD_KINDS = (
    "unknown_moment",
    "unknown_metric",
    "missing_customer",
    "bad_value",
    "bad_time",
    "no_event_id",
    "long_event_id",
    "unknown_segment",
)


def _good(i: int, rng: random.Random) -> dict[str, Any]:
    day = 1 + i % 28
    return {
        "event_id": f"ev-{i}",
        "customer_id": f"C{rng.randrange(300)}",
        "occurred_at": f"2026-02-{day:02d}T{rng.randrange(24):02d}:15:00+01:00",
        "moment": "support_ticket",
        "metric": "first_response_hours",
        "value": round(rng.uniform(0.5, 40), 2),
        "segment": rng.choice(["standard", "premium", "business"]),
        "text": "thanks",
        "attributes": {"channel": rng.choice(["mail", "chat"])},
    }


def _bad(event: dict[str, Any], kind: str) -> dict[str, Any]:
    bad = dict(event)
    if kind == "unknown_moment":
        bad["moment"] = "teleport"
    elif kind == "unknown_metric":
        bad["metric"] = "delivery_days"
    elif kind == "missing_customer":
        bad.pop("customer_id")
    elif kind == "bad_value":
        bad["value"] = "fast"
    elif kind == "bad_time":
        bad["occurred_at"] = "yesterday"
    elif kind == "no_event_id":
        bad.pop("event_id")
    elif kind == "long_event_id":
        bad["event_id"] = "x" * 200
    else:
        bad["segment"] = "vip"
    return bad


def mixed_stream(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """``n`` events: ~25% invalid, ~5% exact duplicates, ~2% conflicting repeats."""
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    for i in range(n):
        event = _good(i, rng)
        roll = rng.random()
        if roll < 0.25:
            event = _bad(event, rng.choice(BAD_KINDS))
        elif roll < 0.30 and out:
            event = dict(rng.choice(out))
        elif roll < 0.32 and out:
            event = {**rng.choice(out), "value": 99.5}
        out.append(event)
    return out


def test_received_equals_stored_plus_duplicate_plus_rejected(
    client: Client, runtime: Runtime, tokens: Tokens
) -> None:
    events = mixed_stream(4000)
    totals = {"received": 0, "accepted": 0, "duplicate": 0, "rejected": 0}
    for start in range(0, len(events), 500):
        batch = events[start : start + 500]
        r = client.post("/v1/events", json={"events": batch}, headers=bearer(tokens.ingest_crm))
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["received"] == len(batch) == body["accepted"] + body["duplicate"] + body["rejected"]
        assert [x["index"] for x in body["results"]] == list(range(len(batch)))
        assert all(x["reason_code"] for x in body["results"] if x["status"] == "rejected")
        for key in totals:
            totals[key] += body[key]
    # the same stream again: nothing new is stored, every valid event is now a duplicate
    again = client.post("/v1/events", json={"events": events[:500]}, headers=bearer(tokens.ingest_crm)).json()
    assert again["accepted"] == 0
    with runtime.reader() as con:
        stored = con.execute("SELECT count(*) FROM experiences WHERE source = 'crm'").fetchone()[0]
        rejected = con.execute("SELECT sum(times) FROM rejected WHERE source = 'crm'").fetchone()[0]
    assert totals["rejected"] / totals["received"] >= 0.20
    assert totals["received"] == stored + totals["duplicate"] + totals["rejected"]
    assert rejected == totals["rejected"] + again["rejected"]
    print(f"reconciliation: {totals} stored={stored}")
