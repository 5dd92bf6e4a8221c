"""The real tracking SDKs from PyPI against a live gapwatch on loopback.

``segment-analytics-python`` (``host=``) and ``rudder-sdk-python`` (``host=``, its
``dataPlaneUrl``) send thousands of track / identify / page calls through their own queues
and consumer threads (Segment plain JSON, RudderStack gzip), then flush. Every message must
be stored exactly once under its ``messageId``, mapped to the right moment and metric with
the right values (or kept as behaviour), and every anonymous visitor linked to the customer
they identified as, so that the customer's journey holds their anonymous page views too.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from collecthelpers import Keys

from gapwatch.api import Runtime

pytestmark = pytest.mark.slow
CUSTOMERS = 400
SEED = 20261204


@dataclass
class Sent:
    """What the test sent, by message id: the expected record."""

    experiences: dict[str, tuple[str, str, float, float, str]] = field(default_factory=dict)
    behaviour: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    links: set[tuple[str, str]] = field(default_factory=set)  # (user id, anonymous id)
    calls: list[dict[str, Any]] = field(default_factory=list)  # the mapped track calls, to send again
    errors: list[Any] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.experiences) + len(self.behaviour)


def _journeys(
    call: Callable[..., tuple[bool, dict[str, Any]]], sent: Sent, prefix: str, rng: random.Random
) -> None:
    """Per customer: anonymous page views, an identify, an unmapped track, mapped deliveries."""
    now = dt.datetime.now(dt.UTC)
    tiers = ("standard", "premium", "business")
    for c in range(CUSTOMERS):
        user, anon = f"{prefix}-C{c}", f"{prefix}-V{c}"
        start = now - dt.timedelta(days=3, minutes=rng.randrange(600))
        for p in range(2):
            ok, msg = call("page", anonymous_id=anon, name=("Home", "Pricing")[p], timestamp=start)
            sent.behaviour[msg["messageId"]] = ("page", ("Home", "Pricing")[p])
        ok, msg = call("identify", user_id=user, anonymous_id=anon, traits={"tier": tiers[c % 3]})
        sent.behaviour[msg["messageId"]] = ("identify", None)
        sent.links.add((user, anon))
        ok, msg = call("track", user_id=user, event="Cart Viewed", properties={"items": 2}, timestamp=start)
        sent.behaviour[msg["messageId"]] = ("track", "Cart Viewed")
        for d in range(3):
            days, promised = rng.randrange(1, 9), rng.choice([None, 2, 3, 5])
            props = {"delivery_days": days, "tier": tiers[c % 3], "carrier": "DHL"}
            if promised is not None:
                props["promised_days"] = promised
            when = start + dt.timedelta(hours=10 + d)
            kwargs = {"user_id": user, "event": "Order Delivered", "properties": props, "timestamp": when}
            ok, msg = call("track", **kwargs)
            assert ok
            sent.calls.append({**kwargs, "message_id": msg["messageId"]})
            expected = float("nan") if promised is None else float(promised)
            sent.experiences[msg["messageId"]] = (
                "delivery",
                "delivery_days",
                float(days),
                expected,
                tiers[c % 3],
            )


def _send(client: Any, sent: Sent, prefix: str) -> None:
    rng = random.Random(SEED + len(prefix))

    def call(kind: str, **kw: Any) -> tuple[bool, dict[str, Any]]:
        result: tuple[bool, dict[str, Any]] = getattr(client, kind)(**kw)
        return result

    _journeys(call, sent, prefix, rng)
    # 50 calls made again with their message ids (an application's own retry): duplicates, stored once
    for kwargs in sent.calls[:: len(sent.calls) // 50][:50]:
        client.track(**kwargs)
    client.flush()


def _check(runtime: Runtime, http: httpx.Client, admin: str, sent: Sent, source: str) -> None:
    assert not sent.errors, sent.errors[:3]
    with runtime.reader() as con:
        stored = con.execute(
            "SELECT event_id, moment, metric, value, expected, segment FROM experiences WHERE source = ?",
            [source],
        ).fetchall()
        kept = con.execute(
            "SELECT message_id, type, name FROM behaviour WHERE source = ?", [source]
        ).fetchall()
        rejected = con.execute("SELECT count(*) FROM rejected WHERE source = ?", [source]).fetchone()
    got = {e: (m, k, v, float("nan") if x is None else x, s) for e, m, k, v, x, s in stored}
    assert len(stored) == len(got) == len(sent.experiences), "an experience is missing or stored twice"
    assert {e: repr(v) for e, v in got.items()} == {e: repr(v) for e, v in sent.experiences.items()}
    assert len(kept) == len({m for m, _, _ in kept}) == len(sent.behaviour)
    assert {m: (t, n) for m, t, n in kept} == sent.behaviour
    assert rejected == (0,), "a message was rejected (a repeat must be a duplicate, not a conflict)"
    # Identity stitching: the anonymous page views belong to the customer's journey.
    for user, _ in sorted(sent.links)[:: CUSTOMERS // 20]:
        view = http.get(f"/v1/customers/{user}", headers={"Authorization": f"Bearer {admin}"}).json()
        assert [b["type"] for b in view["behaviour"]].count("page") == 2
        assert [b["type"] for b in view["behaviour"]].count("identify") == 1
        assert len(view["steps"]) == 3
    with runtime.reader() as con:
        links = con.execute(
            "SELECT count(*) FROM identity_links l "
            "JOIN identities c ON c.customer_key = l.customer_key AND c.kind = 'customer' "
            "JOIN identities a ON a.customer_key = l.anonymous_key AND a.kind = 'anonymous' "
            "WHERE l.source = ?",
            [source],
        ).fetchone()
    assert links == (len(sent.links),)


def test_segment_sdk(server: str, client: httpx.Client, runtime: Runtime, keys: Keys) -> None:
    from segment.analytics import Client

    sent = Sent()
    sdk = Client(
        keys.segment,
        host=f"{server}/collect",
        on_error=lambda exc, batch: sent.errors.append((exc, len(batch))),
        max_queue_size=100_000,
        upload_size=100,
    )
    try:
        _send(sdk, sent, "seg")
    finally:
        sdk.join()
    assert sent.total >= 5 * CUSTOMERS
    print(f"\nsegment-analytics-python: {sent.total} messages (+50 repeats) through the SDK's queue")
    _check(runtime, client, keys.admin, sent, "segment")


def test_rudderstack_sdk(server: str, client: httpx.Client, runtime: Runtime, keys: Keys) -> None:
    from rudderstack.analytics import Client

    sent = Sent()
    sdk = Client(
        keys.segment,
        host=f"{server}/collect",  # the SDK's dataPlaneUrl
        on_error=lambda exc, batch: sent.errors.append((exc, len(batch))),
        max_queue_size=100_000,
        upload_size=100,
        gzip=True,
    )
    try:
        _send(sdk, sent, "rud")
    finally:
        sdk.join()
    print(f"\nrudder-sdk-python: {sent.total} messages (+50 repeats), gzip, through the SDK's queue")
    _check(runtime, client, keys.admin, sent, "segment")
