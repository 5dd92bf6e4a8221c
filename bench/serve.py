"""Benchmark: the live ingest API, durable, against DuckDB's bare batch insert of the same rows.

    .venv/bin/python bench/serve.py                     # the full run (about 3 minutes)
    .venv/bin/python bench/serve.py --seconds 20 --rate-seconds 10   # a quick look

A real ``gapwatch serve`` on a fresh workspace, pinned to core 0 (``taskset -c 0``); this
load generator pins itself to core 1. Only 127.0.0.1 is addressed. Every answer counted
is a 200, which the server gives only after the DuckDB commit that holds the batch.

1. **History.** The load's streams and quiet probe streams (moments the load never
   touches) get 35 days of in-control history, so that live detection has baselines; the
   load itself then happens *now* (today's open period), as live traffic does.
2. **Sustained throughput.** ``--connections`` clients post batches of ``--batch`` new
   events back to back for ``--seconds``: events/s acknowledged, latency p50/p99.
3. **Fixed rate.** One batch every ``batch / rate`` seconds (5,000 events/s by default) for
   ``--rate-seconds``, open loop, latency from the moment a batch was due (no coordinated
   omission): p50/p99. Meanwhile, every 2 s a probe stream is tipped (a batch of today's
   events, all missed) and ``GET /v1/alerts`` is polled: event-to-alert latency is the time
   from that POST to the alert being readable (null when the server raises none: live
   detection not in this build).
4. **Bare insert.** With the server stopped, the rows it stored are inserted again into a
   fresh DuckDB file of the same schema by DuckDB alone (Arrow insert + commit per batch,
   pinned to core 0; best of three): its events/s, and the service's ratio to it.

Server RSS (``/proc/PID/status`` VmRSS) is sampled throughout. The machine's load average
is printed: the cores are not reserved, so other work on them lowers every figure.
Figures are printed (a JSON object on the last line), never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _serve_kit import (
    LOAD_CORE,
    SERVER_CORE,
    Connection,
    Events,
    RssSampler,
    Server,
    closed_loop,
    make_workspace,
    ms,
    percentile,
    pinned,
    scratch,
    start_server,
)

PROBE_MOMENTS = (  # (moment, metric, in-control value, missed value): none is in the load's mix
    ("content_page", "page_load_seconds", 1.5, 9.0),
    ("pricing_page", "page_load_seconds", 1.5, 9.0),
    ("demo_request", "response_hours", 6.0, 90.0),
    ("sales_call", "call_rating", 4.0, 1.0),
    ("welcome_call", "welcome_days", 2.0, 20.0),
    ("review_invite", "csat", 4.0, 1.0),
    ("renewal_offer", "renewal_notice_days", 45.0, 5.0),
)
PROBE_SEGMENTS = ("standard", "premium", "business")
BASELINE_DAYS, PER_DAY, MISS_RATE = 35, 60, 0.1
LOAD_PER_DAY = 2_000  # history of the load's own 21 streams, about 95 events a stream a day


# -- 1. baseline of the probe streams ---------------------------------------------------------------
def _probe_record(i: int, moment: str, metric: str, segment: str, value: float, at: dt.datetime) -> bytes:
    return json.dumps(
        {
            "event_id": f"probe-{moment}-{segment}-{i}",
            "customer_id": f"p{i % 5000}",
            "occurred_at": at.isoformat(),
            "moment": moment,
            "metric": metric,
            "value": value,
            "segment": segment,
        },
        separators=(",", ":"),
    ).encode()


def _body(records: list[bytes], source: str = "probe") -> bytes:
    return b'{"source":"' + source.encode() + b'","events":[' + b",".join(records) + b"]}"


async def seed_baseline(server: Server, events: Events) -> int:
    """35 days of history for the load's streams (its own mix) and the quiet probe streams."""
    rng = random.Random(11)
    today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    records: list[bytes] = []
    n = 0
    for moment, metric, good, bad in PROBE_MOMENTS:
        for segment in PROBE_SEGMENTS:
            for day in range(BASELINE_DAYS, 0, -1):
                for _ in range(PER_DAY):
                    at = today - dt.timedelta(days=day) + dt.timedelta(seconds=rng.randrange(86400))
                    value = bad if rng.random() < MISS_RATE else good
                    records.append(_probe_record(n, moment, metric, segment, value, at))
                    n += 1
    bodies = [_body(records[start : start + 1000]) for start in range(0, len(records), 1000)]
    bodies += list(events.history(BASELINE_DAYS, LOAD_PER_DAY))
    conn = Connection(server.port, server.token)
    for body in bodies:
        answer = await conn.request("POST", "/v1/events", body)
        if answer.status != 200:
            raise RuntimeError(f"seeding the baseline failed: {answer.status} {answer.body[:200]!r}")
    await conn.close()
    return n + BASELINE_DAYS * LOAD_PER_DAY


# -- 2. sustained throughput --------------------------------------------------------------------------
# -- 3. fixed rate, with event-to-alert probes ------------------------------------------------------
class Pool:
    """Keep-alive connections, one per request in flight."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.free: list[Connection] = []

    async def request(self, method: str, path: str, body: bytes = b"") -> Any:
        conn = self.free.pop() if self.free else Connection(self.server.port, self.server.token)
        try:
            return await conn.request(method, path, body)
        finally:
            self.free.append(conn)


async def _alert_seen(pool: Pool, moment: str, segment: str, known: set[str], timeout: float) -> float | None:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        answer = await pool.request("GET", f"/v1/alerts?moment={moment}&limit=1000")
        if answer.status == 200:
            for item in json.loads(answer.body)["items"]:
                if item["id"] not in known and item["segment"] in (segment, "*"):
                    return time.perf_counter()
        await asyncio.sleep(0.02)
    return None


async def tip(pool: Pool, n: int, probe: tuple[str, str, float, float], segment: str) -> float | None:
    """Post one batch that takes a quiet stream out of control; seconds until its alert is readable."""
    moment, metric, _, bad = probe
    answer = await pool.request("GET", f"/v1/alerts?moment={moment}&limit=1000")
    known = {item["id"] for item in json.loads(answer.body)["items"]} if answer.status == 200 else set()
    now = dt.datetime.now(dt.UTC)
    records = [_probe_record(10_000_000 + n * 100 + k, moment, metric, segment, bad, now) for k in range(60)]
    posted = time.perf_counter()
    answer = await pool.request("POST", "/v1/events", _body(records))
    if answer.status != 200:
        return None
    seen = await _alert_seen(pool, moment, segment, known, timeout=5.0)
    return None if seen is None else seen - posted


async def fixed_rate(
    server: Server, events: Events, rate: float, seconds: float, batch: int, probe: bool
) -> dict[str, Any]:
    """Batches at a fixed rate; with ``probe``, tip a quiet stream every 2 s and time its alert."""
    pool = Pool(server)
    interval = batch / rate
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    alert_latencies: list[float] = []
    probes = 0

    async def one(due: float) -> None:
        body, _ = events.batch(batch)
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        try:
            answer = await pool.request("POST", "/v1/events", body)
        except (OSError, asyncio.IncompleteReadError):
            statuses[0] = statuses.get(0, 0) + 1  # 0: no answer (a dropped connection)
            return
        statuses[answer.status] = statuses.get(answer.status, 0) + 1
        if answer.status == 200:
            latencies.append(time.perf_counter() - due)

    async def prober() -> None:
        nonlocal probes
        streams = [(p, s) for p in PROBE_MOMENTS for s in PROBE_SEGMENTS]
        for n, (probe, segment) in enumerate(streams):
            await asyncio.sleep(2.0)
            if time.perf_counter() > end - 6:
                return
            probes += 1
            found = await tip(pool, n, probe, segment)
            if found is not None:
                alert_latencies.append(found)

    start = time.perf_counter() + 0.1
    end = start + seconds
    count = int(seconds / interval)
    probing = asyncio.create_task(prober() if probe else asyncio.sleep(0))
    await asyncio.gather(*(one(start + k * interval) for k in range(count)))
    await probing
    return {
        "rate": rate,
        "seconds": seconds,
        "p50_ms": ms(percentile(latencies, 50)),
        "p99_ms": ms(percentile(latencies, 99)),
        "statuses": statuses,
        "alert_probes": probes,
        "alerts_seen": len(alert_latencies),
        "event_to_alert_p50_ms": ms(percentile(alert_latencies, 50)),
        "event_to_alert_p99_ms": ms(percentile(alert_latencies, 99)),
    }


# -- 4. DuckDB's bare insert of the same rows -----------------------------------------------------------
BARE = """
import sys, time, duckdb, pyarrow.parquet as pq
from gapwatch.adapters.duckdb_schema import SCHEMA
rows, batch, out = pq.read_table(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
con = duckdb.connect(out)
con.execute("SET threads = 1")
con.execute(SCHEMA)
started = time.perf_counter()
for start in range(0, rows.num_rows, batch):
    part = rows.slice(start, batch)
    con.execute("BEGIN TRANSACTION")
    con.execute("INSERT INTO experiences BY NAME SELECT * FROM part")
    con.execute("COMMIT")
print(rows.num_rows / (time.perf_counter() - started))
"""


def bare_insert(root: Path, batch: int, limit: int) -> float:
    """Events/s of DuckDB inserting the stored rows again, an Arrow batch and a commit at a time."""
    import duckdb

    rows = root.parent / "rows.parquet"
    con = duckdb.connect(str(root / "gapwatch.duckdb"), read_only=True)
    try:
        con.execute(
            f"COPY (SELECT * FROM experiences WHERE source = 'bench' ORDER BY ingested_at LIMIT {limit}) "
            f"TO '{rows}' (FORMAT parquet)"
        )
    finally:
        con.close()
    cmd = [sys.executable, "-c", BARE, str(rows), str(batch), str(root.parent / "bare.duckdb")]
    if (os.cpu_count() or 1) > SERVER_CORE:
        cmd = ["taskset", "-c", str(SERVER_CORE), *cmd]
    rates = []
    for _ in range(3):  # best of three: the cores are shared, and a bare insert is over in seconds
        out = subprocess.run(cmd, capture_output=True, text=True, check=True)
        rates.append(float(out.stdout.strip().splitlines()[-1]))
        Path(cmd[-1]).unlink(missing_ok=True)
        Path(cmd[-1] + ".wal").unlink(missing_ok=True)
    return max(rates)


# -- the run --------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60.0, help="Sustained-throughput phase.")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--rate", type=float, default=5000.0, help="Events/s of the fixed-rate phase.")
    parser.add_argument("--rate-seconds", type=float, default=40.0, help="Fixed-rate latency phase.")
    parser.add_argument(
        "--probe-seconds", type=float, default=30.0, help="Fixed rate again, with event-to-alert probes."
    )
    parser.add_argument("--bare-rows", type=int, default=200_000, help="Rows inserted bare (best of 3).")
    args = parser.parse_args()

    load_before = os.getloadavg()
    with scratch() as tmp:
        server = start_server(make_workspace(tmp))
        events = Events("bench-")
        try:
            with RssSampler(server) as rss, pinned(LOAD_CORE) as pin:
                seeded = asyncio.run(seed_baseline(server, events))
                print(f"history: {seeded:,} events over {BASELINE_DAYS} days", flush=True)
                burst = asyncio.run(closed_loop(server, events, args.seconds, args.connections, args.batch))
                print(f"sustained: {burst}", flush=True)
                steady = asyncio.run(
                    fixed_rate(server, events, args.rate, args.rate_seconds, args.batch, probe=False)
                )
                print(f"fixed rate: {steady}", flush=True)
                probed = asyncio.run(
                    fixed_rate(server, events, args.rate, args.probe_seconds, args.batch, probe=True)
                )
                print(f"event to alert: {probed}", flush=True)
        finally:
            server.stop()
        bare = bare_insert(tmp / "ws", args.batch, args.bare_rows)
    result = {
        "sustained_events_per_second": burst["events_per_second"],
        "sustained_p50_ms": burst["p50_ms"],
        "sustained_p99_ms": burst["p99_ms"],
        "sustained_statuses": burst["statuses"],
        "fixed_rate": args.rate,
        "fixed_rate_p50_ms": steady["p50_ms"],
        "fixed_rate_p99_ms": steady["p99_ms"],
        "fixed_rate_statuses": steady["statuses"],
        "event_to_alert_p99_ms": probed["event_to_alert_p99_ms"],
        "event_to_alert_p50_ms": probed["event_to_alert_p50_ms"],
        "alert_probes": probed["alert_probes"],
        "alerts_seen": probed["alerts_seen"],
        "bare_insert_events_per_second": round(bare),
        "ratio_to_bare_insert": round(burst["events_per_second"] / bare, 3),
        "server_max_rss_mb": round(rss.max_mb, 1),
        "pinned": pin,
        "batch": args.batch,
        "connections": args.connections,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }
    print(
        f"durable ingest: {burst['events_per_second']:,} events/s sustained over {args.seconds:.0f} s "
        f"(p50 {burst['p50_ms']} ms, p99 {burst['p99_ms']} ms); DuckDB bare insert {round(bare):,} events/s "
        f"(ratio {result['ratio_to_bare_insert']}); at {args.rate:,.0f} events/s p50 {steady['p50_ms']} ms, "
        f"p99 {steady['p99_ms']} ms; event-to-alert p99 {probed['event_to_alert_p99_ms']} ms "
        f"({probed['alerts_seen']}/{probed['alert_probes']} probes); server max RSS {rss.max_mb:.0f} MB"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
