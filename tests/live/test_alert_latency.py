"""An alert is readable from ``GET /v1/alerts`` within a second of the request that caused it.

A real sequence on the wall clock: four weeks of page loads at a steady 8 % miss rate, a
normal morning today, then one request whose slow pages tip today's (still open) miss rate
out of control. The request is answered once its events are durable; detection runs right
after on the writer (deferred work), and the alert is polled for until it is readable.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import httpx
import numpy as np
from livehelpers import admin_token, serving

from gapwatch.adapters.duckdb_store import DuckDBStore
from gapwatch.api import Runtime
from gapwatch.config import default_config
from gapwatch.settings import Settings

MOMENTS = {"checkout": 2.5, "landing_page": 3.0, "pricing_page": 3.0}  # adequate page load (seconds)


def _events(moment: str, adequate: float, day: dt.date, n: int, miss: float, rng: Any, tag: str) -> list[Any]:
    """``n`` page loads on ``day`` (UTC, the workspace zone), never later than now; a share ``miss`` slow."""
    start = dt.datetime.combine(day, dt.time(), dt.UTC)
    span = min(86_399, int((dt.datetime.now(dt.UTC) - start).total_seconds()))
    slow = rng.random(n) < miss
    return [
        {
            "event_id": f"{moment}-{tag}-{k}",
            "customer_id": f"C{k}",
            "occurred_at": (start + dt.timedelta(seconds=int(rng.integers(0, span + 1)))).isoformat(),
            "moment": moment,
            "metric": "page_load_seconds",
            "value": adequate + 1.0 if slow[k] else adequate * 0.5,
        }
        for k in range(n)
    ]


def test_an_alert_is_readable_within_a_second_of_the_request_that_caused_it() -> None:
    config = default_config()
    runtime = Runtime(Settings(), config, DuckDBStore(timezone=config.workspace.timezone))  # the wall clock
    rng = np.random.default_rng(1)
    today = dt.datetime.now(dt.UTC).date()
    latencies: list[float] = []
    try:
        with (
            serving(runtime) as url,
            httpx.Client(base_url=url, headers=admin_token(runtime), timeout=10) as c,
        ):
            for moment, adequate in MOMENTS.items():
                history = [
                    e
                    for d in range(30, 0, -1)
                    for e in _events(moment, adequate, today - dt.timedelta(days=d), 90, 0.08, rng, f"d{d}")
                ]
                for i in range(0, len(history), 1000):
                    assert c.post(
                        "/v1/events", json={"source": "web", "events": history[i : i + 1000]}
                    ).is_success
                morning = _events(moment, adequate, today, 40, 0.08, rng, "am")
                assert c.post("/v1/events", json={"source": "web", "events": morning}).is_success
                assert c.get("/v1/alerts", params={"moment": moment}).json()["count"] == 0
                tipping = _events(moment, adequate, today, 40, 0.7, rng, "pm")
                started = time.perf_counter()
                assert c.post("/v1/events", json={"source": "web", "events": tipping}).is_success
                while not (alerts := c.get("/v1/alerts", params={"moment": moment}).json()["items"]):
                    assert time.perf_counter() - started < 5, "no alert"
                    time.sleep(0.005)
                latencies.append(time.perf_counter() - started)
                alert = alerts[0]
                assert alert["provisional"] is True and alert["rule"] == "we1" and alert["n"] == 80
                assert alert["period"] == today.isoformat()
        print(f"\nrequest-to-readable-alert latency: {[round(x * 1000) for x in latencies]} ms")
        assert max(latencies) < 1.0
    finally:
        runtime.close()
