"""Benchmark: tracking messages through the Segment SDK into /collect/v1/batch, beside POST /v1/events.

    .venv/bin/python bench/collect.py                  # the full run (about 3 minutes)
    .venv/bin/python bench/collect.py --seconds 10     # a quick look

A real ``gapwatch serve`` on a fresh workspace, pinned to core 0; this process (the SDK's
consumer threads, or the lean loopback client of ``_serve_kit``) pinned to core 1. Only
127.0.0.1 is addressed. Every figure counts acknowledged messages: 200 answers, which come
only after the commit that holds them.

1. **Segment SDK.** ``segment-analytics-python`` (its own queue and consumer threads, plain
   JSON) sends ``--messages`` calls — ``Order Delivered`` track calls the default template maps
   to the delivery moment, and as many page views (behaviour) — and flushes; messages/s from the
   first call to the end of the flush. Once with the SDK's defaults (batches of 100, one
   consumer thread), once with batches of 500 and four consumer threads.
2. **The same server, without the SDK.** The lean client posts pre-rendered ``/collect/v1/batch``
   bodies of the same mix, and ``POST /v1/events`` bodies of experience records, back to back
   from ``--connections`` connections for ``--seconds`` each: what the server itself takes
   on each path (the baseline of this run).

The machine's load average is printed: its two cores are shared, so every figure moves with
other work (±25 % between runs is usual). Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
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
    Server,
    closed_loop,
    make_workspace,
    ms,
    percentile,
    pinned,
    scratch,
    start_server,
)


def _ingest_key(server: Server) -> str:
    import httpx

    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {server.token}"}) as c:
        r = c.post("/v1/tokens", json={"role": "ingest", "source": "segment", "label": "bench"})
        r.raise_for_status()
        return str(r.json()["token"])


def sdk_run(server: Server, key: str, messages: int, upload_size: int, threads: int) -> dict[str, Any]:
    """Messages/s through the Segment SDK's own queue and consumers, until its flush returns."""
    from segment.analytics import Client

    errors: list[Any] = []
    sdk = Client(
        key,
        host=f"{server.url}/collect",
        upload_size=upload_size,
        thread=threads,
        max_queue_size=messages + 1,
        on_error=lambda exc, batch: errors.append(repr(exc)),
    )
    now = dt.datetime.now(dt.UTC)
    started = time.monotonic()
    for i in range(messages // 2):
        props = {"delivery_days": 1 + i % 7, "promised_days": 3, "tier": ("standard", "premium")[i % 2]}
        sdk.track(user_id=f"u{i % 5000}", event="Order Delivered", properties=props, timestamp=now)
        sdk.page(anonymous_id=f"v{i % 5000}", name="Pricing", timestamp=now)
    sdk.flush()
    seconds = time.monotonic() - started
    sdk.join()
    return {
        "upload_size": upload_size,
        "threads": threads,
        "messages": messages,
        "seconds": round(seconds, 1),
        "messages_per_second": round(messages / seconds),
        "errors": len(errors),
    }


class Tracking:
    """Pre-rendered ``/collect/v1/batch`` bodies: half mapped track calls, half page views."""

    def __init__(self) -> None:
        self.next_id = 0
        self.stamp = dt.datetime.now(dt.UTC).isoformat()

    def batch(self, n: int) -> bytes:
        parts = []
        for k in range(self.next_id, self.next_id + n):
            who = {"messageId": f"b{k}", "timestamp": self.stamp}
            if k % 2:
                parts.append({"type": "page", "name": "Pricing", "anonymousId": f"v{k % 5000}", **who})
            else:
                props = {"delivery_days": 1 + k % 7, "promised_days": 3, "tier": "standard"}
                track = {"type": "track", "event": "Order Delivered", "userId": f"u{k % 5000}"}
                parts.append({**track, **who, "properties": props})
        self.next_id += n
        return json.dumps({"batch": parts}, separators=(",", ":")).encode()


async def collect_loop(
    server: Server, key: str, seconds: float, connections: int, batch: int
) -> dict[str, Any]:
    """``connections`` clients posting tracking batches back to back (the lean client, no SDK)."""
    source = Tracking()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    acked = 0

    async def client() -> None:
        nonlocal acked
        conn = Connection(server.port, key)
        while time.monotonic() < end:
            answer = await conn.request("POST", "/collect/v1/batch", source.batch(batch))
            statuses[answer.status] = statuses.get(answer.status, 0) + 1
            if answer.status == 200:
                body = json.loads(answer.body)
                acked += body["accepted"] + body["duplicate"]
                latencies.append(answer.seconds)
            else:
                await asyncio.sleep(float(answer.headers.get("retry-after", "1")))
        await conn.close()

    started = time.monotonic()
    end = started + seconds
    await asyncio.gather(*(client() for _ in range(connections)))
    elapsed = time.monotonic() - started
    return {
        "seconds": round(elapsed, 1),
        "messages_per_second": round(acked / elapsed),
        "messages": acked,
        "p50_ms": ms(percentile(latencies, 50)),
        "p99_ms": ms(percentile(latencies, 99)),
        "statuses": statuses,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=40_000, help="Calls sent through the SDK per run.")
    parser.add_argument("--seconds", type=float, default=30.0, help="Length of each lean-client run.")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    load = os.getloadavg()
    out: dict[str, Any] = {"load_average_before": [round(x, 2) for x in load]}
    with scratch() as tmp:
        server = start_server(make_workspace(tmp))
        try:
            key = _ingest_key(server)
            with pinned(LOAD_CORE):
                out["sdk_defaults"] = sdk_run(server, key, args.messages, 100, 1)
                print("segment SDK, defaults:", out["sdk_defaults"], file=sys.stderr)
                out["sdk_batches_500_threads_4"] = sdk_run(server, key, args.messages, 500, 4)
                print("segment SDK, 500 x 4:", out["sdk_batches_500_threads_4"], file=sys.stderr)
                out["collect_lean"] = asyncio.run(
                    collect_loop(server, key, args.seconds, args.connections, args.batch)
                )
                print("/collect/v1/batch, lean client:", out["collect_lean"], file=sys.stderr)
                out["events_lean"] = asyncio.run(
                    closed_loop(server, Events("e"), args.seconds, args.connections, args.batch)
                )
                print("POST /v1/events, lean client:", out["events_lean"], file=sys.stderr)
        finally:
            server.stop()
    out["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    out["ratio_collect_to_events"] = round(
        out["collect_lean"]["messages_per_second"] / max(1, out["events_lean"]["events_per_second"]), 3
    )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
