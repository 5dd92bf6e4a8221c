"""Overload: offer about three times the measured capacity at a fixed rate; nothing breaks, nothing is lost.

    .venv/bin/python bench/overload.py                  # capacity for 20 s, then 3x for 60 s
    .venv/bin/python bench/overload.py --seconds 15 --capacity-seconds 8   # the test's size

A real ``gapwatch serve`` on a fresh workspace, pinned to core 0; this load generator pins
itself to core 1 and addresses only 127.0.0.1.

1. **Capacity**: ``--connections`` clients post batches back to back for
   ``--capacity-seconds`` (acknowledged events/s), unless ``--capacity`` gives it.
2. **Overload**: one batch every ``batch / (factor x capacity)`` seconds for ``--seconds``,
   open loop: each batch is sent once, whatever happened to the others, on a pool of at
   most ``--max-connections`` keep-alive connections (a batch due when all are busy is
   counted as ``generator_busy`` and not sent).
3. **Checks**: every answer is 200, 429 or 503; every 429/503 carries ``Retry-After``; no
   request waits longer than ``--timeout`` (a hang); the server's RSS (VmRSS, sampled every
   0.2 s) stays under 1 GB; and, with the server stopped, every event of every 200 answer
   is in the ``experiences`` table (no acknowledged event lost).

Prints the figures and a JSON object on the last line; exits 1 when a check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _serve_kit import (
    LOAD_CORE,
    Connection,
    Events,
    RssSampler,
    Server,
    closed_loop,
    make_workspace,
    percentile,
    pinned,
    scratch,
    start_server,
)

RSS_LIMIT_MB = 1024


async def overload(
    server: Server,
    events: Events,
    rate: float,
    seconds: float,
    batch: int,
    max_connections: int,
    timeout: float,
) -> dict[str, Any]:
    interval = batch / rate
    free: list[Connection] = []
    opened = 0
    statuses: dict[str, int] = {}
    missing_retry_after = 0
    acked_ids: list[str] = []
    latencies: list[float] = []
    slowest = 0.0

    def count(key: str) -> None:
        statuses[key] = statuses.get(key, 0) + 1

    async def one(due: float) -> None:
        nonlocal opened, missing_retry_after, slowest
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if free:
            conn = free.pop()
        elif opened < max_connections:
            opened += 1
            conn = Connection(server.port, server.token)
        else:
            count("generator_busy")
            return
        body, _ = events.batch(batch)
        try:
            answer = await asyncio.wait_for(conn.request("POST", "/v1/events", body), timeout)
        except TimeoutError:
            count("timeout")
            await conn.close()
            free.append(conn)
            return
        except (OSError, asyncio.IncompleteReadError):
            count("connection_error")
            free.append(conn)
            return
        free.append(conn)
        slowest = max(slowest, answer.seconds)
        count(str(answer.status))
        if answer.status in (429, 503) and "retry-after" not in answer.headers:
            missing_retry_after += 1
        if answer.status == 200:
            latencies.append(answer.seconds)
            acked_ids.extend(
                r["event_id"] for r in json.loads(answer.body)["results"] if r["status"] != "rejected"
            )

    start = time.perf_counter() + 0.1
    await asyncio.gather(*(one(start + k * interval) for k in range(int(seconds / interval))))
    for conn in free:
        await conn.close()
    return {
        "statuses": statuses,
        "missing_retry_after": missing_retry_after,
        "acked_ids": acked_ids,
        "p50_ms_of_200": None if not latencies else round(percentile(latencies, 50) * 1000, 1),  # type: ignore[operator]
        "p99_ms_of_200": None if not latencies else round(percentile(latencies, 99) * 1000, 1),  # type: ignore[operator]
        "slowest_answer_s": round(slowest, 2),
        "connections": opened,
    }


def lost(root: Path, acked: list[str]) -> tuple[int, int]:
    """(acknowledged events not stored, events stored twice), from the stopped server's store."""
    import duckdb

    con = duckdb.connect(str(root / "gapwatch.duckdb"), read_only=True)
    try:
        stored = {
            r[0] for r in con.execute("SELECT event_id FROM experiences WHERE source = 'bench'").fetchall()
        }
        twice = con.execute(
            "SELECT count(*) FROM (SELECT 1 FROM experiences GROUP BY source, event_id HAVING count(*) > 1)"
        ).fetchone()
    finally:
        con.close()
    return len(set(acked) - stored), int(twice[0]) if twice else 0


def run(
    *,
    seconds: float = 60.0,
    capacity_seconds: float = 20.0,
    capacity_rate: float | None = None,
    factor: float = 3.0,
    batch: int = 500,
    connections: int = 8,
    max_connections: int = 256,
    timeout: float = 30.0,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Measure capacity, offer ``factor`` times it for ``seconds``; the figures and the checks' verdicts."""
    load_before = os.getloadavg()
    with scratch() as tmp:
        server = start_server(make_workspace(tmp), env=env)
        events = Events("bench-")
        try:
            with RssSampler(server) as rss, pinned(LOAD_CORE) as pin:
                measured = (
                    capacity_rate
                    or asyncio.run(closed_loop(server, events, capacity_seconds, connections, batch))[
                        "events_per_second"
                    ]
                )
                offered = factor * measured
                out = asyncio.run(overload(server, events, offered, seconds, batch, max_connections, timeout))
                server_alive = server.proc.poll() is None
        finally:
            server.stop()
        acked = out.pop("acked_ids")
        missing, twice = lost(tmp / "ws", acked)
    statuses = out["statuses"]
    bad = {k: v for k, v in statuses.items() if k not in ("200", "429", "503", "generator_busy")}
    result = {
        "capacity_events_per_second": round(measured),
        "offered_events_per_second": round(offered),
        "seconds": seconds,
        **out,
        "acknowledged_events": len(acked),
        "acknowledged_events_per_second": round(len(acked) / seconds),
        "refused_429": statuses.get("429", 0),
        "refused_503": statuses.get("503", 0),
        "lost": missing,
        "stored_twice": twice,
        "server_max_rss_mb": round(rss.max_mb, 1),
        "server_alive": server_alive,
        "pinned": pin,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }
    result["failures"] = [
        *([f"unexpected answers {bad}"] if bad else []),
        *(
            [f"{out['missing_retry_after']} refusals without Retry-After"]
            if out["missing_retry_after"]
            else []
        ),
        *([f"server RSS {rss.max_mb:.0f} MB >= {RSS_LIMIT_MB} MB"] if rss.max_mb >= RSS_LIMIT_MB else []),
        *([f"{missing} acknowledged events lost"] if missing else []),
        *([f"{twice} events stored twice"] if twice else []),
        *([] if result["refused_429"] + result["refused_503"] else ["nothing was refused: not an overload"]),
        *([] if server_alive else ["the server died"]),
    ]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60.0, help="Length of the overload.")
    parser.add_argument("--capacity-seconds", type=float, default=20.0)
    parser.add_argument("--capacity", type=float, default=None, help="Events/s; skips measuring it.")
    parser.add_argument("--factor", type=float, default=3.0, help="Offered load as a multiple of capacity.")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--max-connections", type=int, default=256)
    args = parser.parse_args()
    result = run(
        seconds=args.seconds,
        capacity_seconds=args.capacity_seconds,
        capacity_rate=args.capacity,
        factor=args.factor,
        batch=args.batch,
        max_connections=args.max_connections,
    )
    print(
        f"capacity {result['capacity_events_per_second']:,} events/s; offered "
        f"{result['offered_events_per_second']:,} events/s for {args.seconds:.0f} s: answers "
        f"{result['statuses']}; {result['acknowledged_events']:,} acknowledged, {result['lost']} lost; "
        f"server max RSS {result['server_max_rss_mb']:.0f} MB; slowest answer {result['slowest_answer_s']} s"
    )
    print("checks:", "all passed" if not result["failures"] else "; ".join(result["failures"]))
    print(json.dumps(result))
    sys.exit(1 if result["failures"] else 0)


if __name__ == "__main__":
    main()
