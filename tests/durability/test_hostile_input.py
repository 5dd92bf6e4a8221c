"""Hostile input against a live server (issue 9): generated batches, 0 server errors, bounded RSS.

Hypothesis draws batches of experience records from :mod:`hostile` (extreme dates and offsets,
numbers, wrong types, lengths around every limit, unicode, repeated ids) and posts them to a
real ``gapwatch serve`` subprocess, as an admin (declared and undeclared sources) and as an
ingest key. Every answer must be 200 (or 413 for a body over the limit), never a 5xx; every
200 must account for each event (``received = accepted + duplicate + rejected``, one result
per event, a reason for each reject); the server must stay up with its resident memory
under :data:`RSS_BOUND` (peak, ``VmHWM``); and at the end the store must hold exactly the
accepted events and every reject (``sum(times)``), and ``gapwatch detect`` must run on it.

The CI run draws a few hundred batches; the full run draws thousands::

    GAPWATCH_HOSTILE_EXAMPLES=3000 .venv/bin/pytest tests/durability/test_hostile_input.py -s
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
from durahelpers import ServerProcess, cli, free_port
from hostile import batches, raw_bodies
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gapwatch.workspace import DB_FILE, init_workspace

pytestmark = pytest.mark.slow  # a real server, started and stopped

EXAMPLES = int(os.environ.get("GAPWATCH_HOSTILE_EXAMPLES", "200"))
RSS_BOUND = 1 << 30  # 1 GiB: the service's memory by construction is ~0.6 GB (docs/operations.md)
POOL = [f"dup-{i}" for i in range(12)]  # event ids drawn again and again: duplicates and conflicts
CHECKS = settings(
    max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)


@dataclass
class Served:
    root: Path
    server: ServerProcess
    admin: str
    key: str  # an ingest key of source `orders`
    log: Path
    totals: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    rss_max: int = 0
    seconds: float = 0.0  # waiting for answers
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=120))

    def status(self, name: str) -> int:
        pid = self.server.proc.pid if self.server.proc else 0
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(name + ":"):
                return int(line.split()[1]) * 1024
        raise AssertionError(f"no {name} for pid {pid}")

    def sample(self) -> None:
        self.rss_max = max(self.rss_max, self.status("VmRSS"))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("hostile")
    root = init_workspace(tmp / "ws")
    admin = str(cli("token", "create", "--workspace", str(root), "--role", "admin")["token"])
    key = str(
        cli("token", "create", "--workspace", str(root), "--role", "ingest", "--source", "orders")["token"]
    )
    log = tmp / "server.log"
    server = ServerProcess(root, free_port(), log)
    server.start()
    s = Served(root, server, admin, key, log)
    yield s
    s.client.close()
    server.stop()


@CHECKS
@given(events=batches(POOL), who=st.sampled_from(["api", "orders", "tickets", "crm", "key"]))
def test_generated_batches_never_break_the_server(
    served: Served, events: list[dict[str, Any]], who: str
) -> None:
    started = time.perf_counter()
    token = served.key if who == "key" else served.admin
    body: dict[str, Any] = {"events": events} if who == "key" else {"source": who, "events": events}
    r = served.client.post(
        f"{served.server.url}/v1/events",
        content=json.dumps(body, allow_nan=False).encode(),
        headers={"Authorization": f"Bearer {token}", "content-type": "application/json"},
    )
    served.statuses[r.status_code] += 1
    served.seconds += time.perf_counter() - started
    served.sample()
    assert r.status_code in (200, 413), r.text[:500]
    if r.status_code == 413:
        return
    out = r.json()
    assert out["received"] == len(events) == out["accepted"] + out["duplicate"] + out["rejected"]
    assert [x["index"] for x in out["results"]] == list(range(len(events)))
    counted = Counter(x["status"] for x in out["results"])
    assert (counted["accepted"], counted["duplicate"], counted["rejected"]) == (
        out["accepted"],
        out["duplicate"],
        out["rejected"],
    )
    assert all(x["reason_code"] and x["reason"] for x in out["results"] if x["status"] == "rejected")
    for k in ("received", "accepted", "duplicate", "rejected"):
        served.totals[k] += out[k]


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(body=raw_bodies)
def test_raw_bodies_never_break_the_server(served: Served, body: bytes) -> None:
    r = served.client.post(
        f"{served.server.url}/v1/events",
        content=body,
        headers={"Authorization": f"Bearer {served.admin}", "content-type": "application/json"},
    )
    served.statuses[r.status_code] += 1
    served.sample()
    assert r.status_code in (200, 400, 413, 422), r.text[:500]
    if r.status_code == 200:
        out = r.json()
        served.totals["received"] += out["received"]
        served.totals["accepted"] += out["accepted"]
        served.totals["duplicate"] += out["duplicate"]
        served.totals["rejected"] += out["rejected"]


def test_the_server_survived_and_its_store_accounts_for_everything(served: Served) -> None:
    assert served.server.proc is not None and served.server.proc.poll() is None, "the server died"
    streams = served.client.get(
        f"{served.server.url}/v1/streams", headers={"Authorization": f"Bearer {served.admin}"}
    )
    assert streams.status_code == 200
    peak = served.status("VmHWM")
    served.server.stop()
    log = served.log.read_text(errors="replace")
    assert "Traceback" not in log, log[-3000:]
    con = duckdb.connect(str(served.root / DB_FILE), read_only=True)
    stored = con.execute("SELECT count(*) FROM experiences").fetchone()[0]
    rejects = con.execute("SELECT coalesce(sum(times), 0) FROM rejected").fetchone()[0]
    con.close()
    assert stored == served.totals["accepted"]
    assert rejects == served.totals["rejected"]
    detected = cli("detect", "--workspace", str(served.root))
    assert peak < RSS_BOUND
    print(
        f"\nhostile input: {sum(served.statuses.values())} requests {dict(served.statuses)}, "
        f"{dict(served.totals)}; stored {stored}; server RSS peak {peak / 2**20:.0f} MiB "
        f"(bound {RSS_BOUND / 2**20:.0f} MiB); detect: {len(detected['streams'])} streams; "
        f"{served.seconds:.0f} s waiting for answers"
    )
