"""GET /metrics scraped during a replay, every scrape parsed by ``prometheus_client.parser``.

A ``gapwatch serve`` subprocess on the event-time clock takes a replay of a simulated world
(``gapwatch replay``, through ``POST /v1/events``) and tracking messages (``/collect``) at
the same time, while a metrics token scrapes it. Every scrape must parse; counters never go
down; at the end the counts equal what the store holds, the latency histograms have
observations, and the open alerts per silo equal the store's.
"""

from __future__ import annotations

import itertools
import subprocess
import threading
import time
from pathlib import Path

import duckdb
import httpx
import pytest
from durahelpers import GAPWATCH, ServerProcess, cli, free_port
from prometheus_client.parser import text_string_to_metric_families

from gapwatch.workspace import init_workspace

pytestmark = pytest.mark.slow
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _scrape(client: httpx.Client, token: str) -> Samples:
    r = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    out: Samples = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def _total(samples: Samples, name: str, **labels: str) -> float:
    return sum(
        v for (n, ls), v in samples.items() if n == name and all((k, v_) in ls for k, v_ in labels.items())
    )


def _tracking(url: str, key: str, stop: threading.Event) -> int:
    """Tracking batches posted alongside the replay (plain HTTP, as an SDK would)."""
    sent = 0
    with httpx.Client(base_url=url, timeout=60, auth=(key, "")) as c:
        while not stop.is_set() and sent < 3000:
            batch = [
                {"type": "page", "name": "Home", "anonymousId": f"V{sent + i}", "messageId": f"p{sent + i}"}
                for i in range(100)
            ]
            assert c.post("/collect/v1/batch", json={"batch": batch}).status_code == 200
            sent += len(batch)
    return sent


def test_metrics_scraped_during_a_replay(tmp_path: Path) -> None:
    ws, world = tmp_path / "ws", tmp_path / "world"
    init_workspace(ws)
    t0 = time.monotonic()
    cli("simulate", "--customers", "250", "--days", "56", "--seed", "3", "--out", str(world))
    print(f"\nsimulated in {time.monotonic() - t0:.0f} s")
    admin = str(cli("token", "create", "--workspace", str(ws), "--role", "admin")["token"])
    metrics = str(cli("token", "create", "--workspace", str(ws), "--role", "metrics")["token"])
    key = str(
        cli("token", "create", "--workspace", str(ws), "--role", "ingest", "--source", "segment")["token"]
    )
    server = ServerProcess(ws, free_port(), tmp_path / "server.log", env={"GAPWATCH_CLOCK": "event"})
    server.start()
    scrapes: list[Samples] = []
    stop = threading.Event()
    tracked: list[int] = []
    try:
        replay = subprocess.Popen(
            [*GAPWATCH, "replay", str(world), "--url", server.url, "--token", admin, "--json"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        side = threading.Thread(target=lambda: tracked.append(_tracking(server.url, key, stop)))
        side.start()
        with httpx.Client(base_url=server.url, timeout=30) as client:
            while replay.poll() is None:
                scrapes.append(_scrape(client, metrics))
                time.sleep(0.5)
            stop.set()
            side.join(120)
            assert replay.returncode == 0
            time.sleep(1.0)  # deferred detection of the last batches
            scrapes.append(_scrape(client, metrics))
            assert client.get("/metrics").status_code == 401
            assert client.get("/metrics", headers={"Authorization": f"Bearer {key}"}).status_code == 403
    finally:
        stop.set()
        server.stop()
    print(f"replayed and scraped in {time.monotonic() - t0:.0f} s")
    assert len(scrapes) >= 4, "the replay ended before it could be scraped a few times"
    _monotonic(scrapes)
    last = scrapes[-1]

    con = duckdb.connect(str(ws / "gapwatch.duckdb"), read_only=True)
    try:
        stored = con.execute("SELECT count(*) FROM experiences").fetchone()
        kept = con.execute("SELECT count(*) FROM behaviour").fetchone()
        opened = dict(
            con.execute(
                "SELECT a.silo, count(*) FROM alerts a JOIN cases c ON c.id = a.case_id "
                "WHERE c.state <> 'closed' GROUP BY a.silo"
            ).fetchall()
        )
    finally:
        con.close()
    assert stored is not None and kept is not None
    assert _total(last, "gapwatch_events_total", kind="experience", status="accepted") == stored[0]
    assert (
        _total(last, "gapwatch_events_total", source="segment", kind="behaviour", status="accepted")
        == kept[0]
    )
    assert kept[0] == sum(tracked) > 0
    assert _total(last, "gapwatch_commit_seconds_count", path="events") > 0
    assert _total(last, "gapwatch_commit_seconds_count", path="collect") > 0
    assert _total(last, "gapwatch_detection_seconds_count") > 0
    assert _total(last, "gapwatch_http_requests_total", route="/v1/events", status="200") > 0
    assert ("gapwatch_writer_queue_depth", ()) in last
    silos = {dict(ls)["silo"]: v for (n, ls), v in last.items() if n == "gapwatch_open_alerts"}
    assert set(silos) == {"marketing", "sales", "delivery", "success"}
    assert {s: v for s, v in silos.items() if v} == {s: float(n) for s, n in opened.items()}
    assert sum(silos.values()) > 0, "the simulated world's incidents raised no alert"
    print(
        f"\n{len(scrapes)} scrapes parsed during the replay; {stored[0]} experiences and {kept[0]} behaviour "
        f"rows stored = counted; open alerts per silo {silos}"
    )


def _monotonic(scrapes: list[Samples]) -> None:
    """Counters (and histogram counts) never go down from one scrape to the next."""
    for before, after in itertools.pairwise(scrapes):
        for (name, labels), value in before.items():
            if name.endswith(("_total", "_count", "_sum", "_bucket")):
                assert after.get((name, labels), 0.0) >= value, (name, labels)
