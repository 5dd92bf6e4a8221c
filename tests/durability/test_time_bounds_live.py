"""One event dated 9999-12-31 used to take a server down (issue 9, item 1); now it is a reject.

* Posted to a running server, far-future and far-past events are rejected with a reason,
  and the server keeps serving normal traffic with its resident memory under 1 GB (the
  live state spans the accepted window, never the extreme of the data).
* A store that already holds such rows (written by an older version) still opens: ``gapwatch
  detect`` and ``gapwatch serve`` repair it on open (the rows move to ``rejected``, with a
  log line) and work as usual.
"""

from __future__ import annotations

import datetime as dt
import random
import subprocess
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
from durahelpers import GAPWATCH, ServerProcess, cli, free_port

from gapwatch.workspace import DB_FILE, init_workspace

pytestmark = pytest.mark.slow  # a real server, started and stopped

GB = 10**9
TODAY = dt.datetime.now(dt.UTC).replace(microsecond=0)
STREAMS = (  # moment, metric, source, values drawn around adequate
    ("delivery", "delivery_days", "orders", (1.0, 7.0)),
    ("support_ticket", "csat", "tickets", (1.0, 5.0)),
    ("app_session", "latency_seconds", "usage", (0.2, 3.0)),
)


def normal_traffic(days: int = 40, per_day: int = 40, seed: int = 3) -> dict[str, list[dict[str, Any]]]:
    """Ordinary events of the last ``days`` days, per source, in time order."""
    rng = random.Random(seed)
    out: dict[str, list[dict[str, Any]]] = {}
    for moment, metric, source, (lo, hi) in STREAMS:
        for d in range(days, 0, -1):
            for k in range(per_day):
                when = TODAY - dt.timedelta(days=d, seconds=rng.randint(0, 86_000))
                out.setdefault(source, []).append(
                    {
                        "event_id": f"{moment}-{d}-{k}",
                        "customer_id": f"C{rng.randint(1, 500)}",
                        "occurred_at": when.isoformat(),
                        "moment": moment,
                        "metric": metric,
                        "segment": rng.choice(["standard", "premium"]),
                        "value": round(rng.uniform(lo, hi), 2),
                    }
                )
    return out


def rss(server: ServerProcess, name: str = "VmHWM") -> int:
    assert server.proc is not None
    for line in Path(f"/proc/{server.proc.pid}/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(name)


def post(server: ServerProcess, token: str, source: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    r = httpx.post(
        f"{server.url}/v1/events",
        json={"source": source, "events": events},
        headers={"Authorization": f"Bearer {token}"},
        timeout=120,
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def streams(server: ServerProcess, token: str) -> list[dict[str, Any]]:
    r = httpx.get(f"{server.url}/v1/streams", headers={"Authorization": f"Bearer {token}"}, timeout=60)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def test_far_future_events_are_rejected_and_the_server_keeps_serving(tmp_path: Path) -> None:
    root = init_workspace(tmp_path / "ws")
    token = str(cli("token", "create", "--workspace", str(root), "--role", "admin")["token"])
    server = ServerProcess(root, free_port(), tmp_path / "server.log")
    server.start()
    try:
        base = {"customer_id": "C1", "moment": "delivery", "metric": "delivery_days", "value": 3}
        extremes = ["9999-12-31T00:00:00Z", "2030-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "infinity"]
        for source in ("orders", "api"):
            out = post(
                server,
                token,
                source,
                [{**base, "event_id": f"x{i}", "occurred_at": at} for i, at in enumerate(extremes)],
            )
            assert [r["reason_code"] for r in out["results"]] == [
                "occurred_in_future",
                "occurred_in_future",
                "occurred_too_early",
                "bad_timestamp",
            ]
        accepted = 0
        for source, events in normal_traffic().items():
            for start in range(0, len(events), 400):
                accepted += post(server, token, source, events[start : start + 400])["accepted"]
        assert accepted == sum(len(e) for e in normal_traffic().values())
        seen = streams(server, token)
        assert (
            seen and max(s["last_period"] for s in seen) <= (TODAY + dt.timedelta(days=2)).date().isoformat()
        )
        peak = rss(server)
        print(f"\nafter 9999-12-31 and {accepted:,} ordinary events: server peak RSS {peak / 2**20:.0f} MiB")
        assert peak < GB
    finally:
        server.stop()


def _poison(root: Path) -> None:
    """What an older version let in: experiences (and an outcome) dated 9999-12-31 and 0001-01-01."""
    con = duckdb.connect(str(root / DB_FILE))
    for at, eid in (("9999-12-31 00:00:00+00", "far-future"), ("0001-01-01 00:00:00+00", "far-past")):
        con.execute(
            "INSERT INTO experiences SELECT * REPLACE (? AS event_id, CAST(? AS TIMESTAMPTZ) AS occurred_at, "
            "CAST(CAST(? AS TIMESTAMPTZ) AS DATE) AS period) FROM experiences LIMIT 1",
            [eid, at, at],
        )
    con.close()


def test_a_store_already_holding_such_rows_still_detects_and_serves(tmp_path: Path) -> None:
    root = init_workspace(tmp_path / "ws")
    token = str(cli("token", "create", "--workspace", str(root), "--role", "admin")["token"])
    server = ServerProcess(root, free_port(), tmp_path / "server.log")
    server.start()
    try:
        for source, events in normal_traffic(days=20, per_day=20).items():
            post(server, token, source, events)
    finally:
        server.stop()

    _poison(root)
    done = subprocess.run(
        [*GAPWATCH, "detect", "--workspace", str(root), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "store repair: moved 2 from experiences to `rejected`" in done.stderr

    _poison(root)
    server.start()
    try:
        seen = streams(server, token)
        assert seen and min(s["first_period"] for s in seen) > "2000-01-01"
        assert max(s["last_period"] for s in seen) <= (TODAY + dt.timedelta(days=2)).date().isoformat()
        more = normal_traffic(days=2, per_day=5, seed=9)
        assert post(
            server, token, "orders", [{**e, "event_id": "n-" + e["event_id"]} for e in more["orders"]]
        )["accepted"] == len(more["orders"])
        print(f"\nrepaired store served: peak RSS {rss(server) / 2**20:.0f} MiB")
        assert rss(server) < GB
    finally:
        server.stop()
    assert "store repair: moved 2 from experiences" in (tmp_path / "server.log").read_text()
    con = duckdb.connect(str(root / DB_FILE), read_only=True)
    moved = con.execute(
        "SELECT event_id, reason_code, times FROM rejected WHERE file = '(store repair)' ORDER BY 1, 3"
    ).fetchall()
    con.close()
    # Kept like every reject: once per row and reason, the second repair counted in `times`.
    assert moved == [("far-future", "occurred_in_future", 2), ("far-past", "occurred_too_early", 2)]
