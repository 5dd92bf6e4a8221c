"""Webhooks (JSON and Slack, retries, failures recorded) and the write path's limits (413/429/503)."""

from __future__ import annotations

import threading
from typing import Any

from apihelpers import Tokens, bearer, make_runtime, seed_alert, serve
from httpx import Client

from gapwatch.api import Runtime, create_app
from gapwatch.quality.alerts import get_alert


def test_webhooks_deliver_json_and_slack_and_record_failures(tokens: Tokens) -> None:
    sent: list[tuple[str, dict[str, Any]]] = []

    def post(url: str, body: dict[str, Any], timeout: float) -> int:
        sent.append((url, body))
        if "broken" in url:
            raise ConnectionError("refused")
        return 200

    runtime = make_runtime(post=post, webhook_backoff_seconds=0.001, webhook_max_attempts=3)
    try:
        from gapwatch.auth.tokens import create_token
        from gapwatch.domain.access import Role

        member = runtime.write(lambda c: create_token(c, Role.MEMBER, silo="delivery"))[0]
        with serve(create_app(runtime, close_on_shutdown=False)) as url, Client(base_url=url) as client:
            h = bearer(member)
            for target, kind in (
                ("http://hooks/json", "json"),
                ("http://hooks/slack", "slack"),
                ("http://hooks/broken", "json"),
            ):
                r = client.post(
                    "/v1/webhooks", json={"silo": "delivery", "url": target, "kind": kind}, headers=h
                )
                assert r.status_code == 201, r.text
            assert (
                client.post(
                    "/v1/webhooks", json={"silo": "sales", "url": "http://x/y"}, headers=h
                ).status_code
                == 403
            )
            alert_id = seed_alert(runtime)
            with runtime.reader() as con:
                runtime.notifier.notify([get_alert(con, alert_id)])
            runtime.notifier.drain()
            hooks = client.get("/v1/webhooks", headers=h).json()["items"]
            outcomes = {
                hk["url"]: client.get(f"/v1/webhooks/{hk['id']}/deliveries", headers=h).json()["items"]
                for hk in hooks
            }
    finally:
        runtime.close()
    by_url = dict(sent)
    assert by_url["http://hooks/json"]["alert"]["id"] == alert_id
    assert by_url["http://hooks/json"]["alert"]["kano"] == "must-be"
    assert "CRITICAL" in by_url["http://hooks/slack"]["text"]
    assert [u for u, _ in sent].count("http://hooks/broken") == 3
    assert outcomes["http://hooks/broken"][0]["status"] == "failed"
    assert outcomes["http://hooks/broken"][0]["attempts"] == 3
    assert outcomes["http://hooks/json"][0]["status"] == "delivered"


EVENT = {
    "event_id": "x1",
    "customer_id": "C1",
    "occurred_at": "2026-03-01T10:00:00Z",
    "moment": "delivery",
    "metric": "delivery_days",
    "value": 3,
}


def test_too_fast_clients_get_429_with_retry_after() -> None:
    runtime = make_runtime(rate_limit_events_per_second=5.0, retry_after_seconds=2)
    try:
        from gapwatch.auth.tokens import create_token
        from gapwatch.domain.access import Role

        key = runtime.write(lambda c: create_token(c, Role.INGEST, source="crm"))[0]
        with serve(create_app(runtime, close_on_shutdown=False)) as url, Client(base_url=url) as client:
            events = [{**EVENT, "event_id": f"r{i}"} for i in range(5)]
            assert client.post("/v1/events", json={"events": events}, headers=bearer(key)).status_code == 200
            r = client.post("/v1/events", json={"events": events}, headers=bearer(key))
    finally:
        runtime.close()
    assert r.status_code == 429 and r.headers["Retry-After"] == "2"
    assert r.json()["code"] == "too_many_requests"


def test_full_write_queue_gives_503_and_writes_nothing() -> None:
    runtime = make_runtime(write_queue_batches=1)
    gate, busy = threading.Event(), threading.Event()

    def block() -> None:
        busy.set()
        gate.wait()

    try:
        from gapwatch.auth.tokens import create_token
        from gapwatch.domain.access import Role

        admin = runtime.write(lambda c: create_token(c, Role.ADMIN))[0]
        runtime.writer.submit(block)  # the writer is busy ...
        busy.wait(5)
        runtime.writer.submit(lambda: None)  # ... and its queue full
        with serve(create_app(runtime, close_on_shutdown=False)) as url, Client(base_url=url) as c:
            r = c.post("/v1/events", json={"source": "crm", "events": [EVENT]}, headers=bearer(admin))
            gate.set()
            with runtime.reader() as con:
                stored = con.execute("SELECT count(*) FROM experiences").fetchone()
    finally:
        gate.set()
        runtime.close()
    assert r.status_code == 503 and r.headers["Retry-After"] == "1"
    assert stored == (0,)


def test_runtime_fixture_is_isolated(runtime: Runtime) -> None:
    with runtime.reader() as con:
        assert con.execute("SELECT count(*) FROM alerts").fetchone() == (0,)
