"""Nothing acknowledged is lost: SIGKILL a real ``gapwatch serve`` while both SDKs are sending.

Both SDKs (Segment plain, RudderStack gzip) send thousands of calls through their own queues
to a ``gapwatch serve`` subprocess on loopback, while the server is killed with SIGKILL at
random moments and started again. The SDKs retry what was not answered (a connection
refused, a reset); a batch the server committed but could not answer is sent again and its
messages come back as duplicates. After both SDKs have flushed, every message they sent —
a superset of those the server acknowledged — must be stored exactly once, and every
anonymous visitor linked to their customer.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest
from durahelpers import ServerProcess, cli, free_port

from gapwatch.workspace import init_workspace

pytestmark = pytest.mark.slow
KILLS = 5
MAX_CUSTOMERS = 3000  # x 6 calls, over both SDKs; the producer runs until the kills are done
SEED = 13


class Producer:
    """Journeys enqueued at a steady pace into both SDKs (every message id recorded)."""

    def __init__(self, clients: list[Any]) -> None:
        self.clients = clients
        self.sent: dict[str, str] = {}  # message id -> "experience" or "behaviour"
        self.links: set[tuple[str, str]] = set()
        self.errors: list[Any] = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.done = threading.Event()
        self.stop = threading.Event()

    def _run(self) -> None:
        rng = random.Random(SEED)
        now = dt.datetime.now(dt.UTC)
        try:
            for c in range(MAX_CUSTOMERS):
                if self.stop.is_set():
                    break
                sdk = self.clients[c % 2]
                user, anon = f"C{c}", f"V{c}"
                when = now - dt.timedelta(hours=rng.randrange(1, 48))
                calls: list[tuple[str, str, dict[str, Any]]] = [
                    ("behaviour", "page", {"anonymous_id": anon, "name": "Pricing", "timestamp": when}),
                    ("behaviour", "page", {"anonymous_id": anon, "name": "Checkout", "timestamp": when}),
                    ("behaviour", "identify", {"user_id": user, "anonymous_id": anon}),
                ]
                for d in range(3):
                    props = {"delivery_days": rng.randrange(1, 8), "promised_days": 4, "tier": "standard"}
                    at = when + dt.timedelta(minutes=d)
                    kw = {"user_id": user, "event": "Order Delivered", "properties": props, "timestamp": at}
                    calls.append(("experience", "track", kw))
                for kind, method, kw in calls:
                    ok, msg = getattr(sdk, method)(**kw)
                    assert ok, "the SDK's queue refused a message"
                    self.sent[msg["messageId"]] = kind
                self.links.add((user, anon))
                time.sleep(0.02)  # about 300 messages a second: the kills land mid-send
        except BaseException as exc:
            self.errors.append(exc)
        finally:
            self.done.set()


def _client(kind: str, key: str, url: str, errors: list[Any]) -> Any:
    on_error = lambda exc, batch: errors.append((kind, repr(exc), len(batch)))  # noqa: E731
    if kind == "segment":
        from segment.analytics import Client as Segment

        return Segment(key, host=url, on_error=on_error, max_retries=12, max_queue_size=100_000)
    from rudderstack.analytics import Client as Rudder

    return Rudder(key, host=url, on_error=on_error, max_retries=12, max_queue_size=100_000, gzip=True)


def test_sdk_messages_survive_sigkill(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    init_workspace(ws)
    key = str(
        cli("token", "create", "--workspace", str(ws), "--role", "ingest", "--source", "segment")["token"]
    )
    server = ServerProcess(ws, free_port(), tmp_path / "server.log")
    server.start()
    errors: list[Any] = []
    clients = [_client(k, key, f"{server.url}/collect", errors) for k in ("segment", "rudder")]
    producer = Producer(clients)
    rng = random.Random(SEED)
    started = time.monotonic()
    kills = 0
    try:
        producer.thread.start()
        while kills < KILLS and not producer.done.is_set():
            time.sleep(rng.uniform(0.5, 2.5))
            server.kill()
            kills += 1
            server.start()
        time.sleep(1.0)
        producer.stop.set()
        assert producer.done.wait(300)
        for sdk in clients:
            sdk.flush()  # every batch answered (retried as long as it takes) or reported to on_error
            sdk.join()
    finally:
        server.stop()
    seconds = time.monotonic() - started
    assert not producer.errors, producer.errors
    assert kills == KILLS, "the producer finished before the kills: make it send longer"
    assert not errors, errors[:5]
    assert len(producer.sent) >= 2000, f"only {len(producer.sent)} messages were sent"

    con = duckdb.connect(str(ws / "gapwatch.duckdb"), read_only=True)
    try:
        experiences = con.execute("SELECT event_id FROM experiences").fetchall()
        behaviour = con.execute("SELECT message_id FROM behaviour").fetchall()
        links = con.execute("SELECT count(*) FROM identity_links").fetchone()
        rejected = con.execute("SELECT count(*) FROM rejected").fetchone()
    finally:
        con.close()
    stored = [e for (e,) in experiences] + [m for (m,) in behaviour]
    assert len(stored) == len(set(stored)), "a message is stored twice"
    want = {m for m, k in producer.sent.items()}
    lost = want - set(stored)
    assert not lost, f"{len(lost)} messages lost, e.g. {sorted(lost)[:5]}"
    assert set(stored) == want, "stored messages nobody sent"
    assert {e for (e,) in experiences} == {m for m, k in producer.sent.items() if k == "experience"}
    assert links == (len(producer.links),) and rejected == (0,)
    print(
        f"\n{kills} SIGKILLs in {seconds:.0f} s ({server.starts} server starts): {len(want)} messages sent "
        f"through segment-analytics-python and rudder-sdk-python, {len(stored)} stored once, 0 lost"
    )
