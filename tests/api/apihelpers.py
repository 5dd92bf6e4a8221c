"""Helpers for the API tests: an in-memory service, a loopback server, tokens, seeded alerts."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI

from gapwatch.adapters.duckdb_store import DuckDBStore
from gapwatch.adapters.http import http_post
from gapwatch.api import Runtime
from gapwatch.config import default_config
from gapwatch.domain.alerts import SignalFacts
from gapwatch.ports import Post
from gapwatch.quality.alerts import raise_alert
from gapwatch.settings import Settings

SECRET = b"test-secret-test-secret-test-sec"


@dataclass
class Tokens:
    admin: str
    analyst: str
    member_sales: str
    member_delivery: str
    ingest_crm: str


def make_runtime(post: Post = http_post, **settings: object) -> Runtime:
    config = default_config()
    store = DuckDBStore(timezone=config.workspace.timezone, secret=SECRET)
    return Runtime(Settings.model_validate(settings), config, store, post=post)


def signal(
    moment: str = "delivery",
    segment: str = "premium",
    metric: str = "delivery_days",
    period: dt.date = dt.date(2026, 3, 2),
    rule: str = "beyond_limits",
) -> SignalFacts:
    return SignalFacts(
        moment=moment,
        segment=segment,
        metric=metric,
        period=period,
        rule=rule,
        chart="p",
        statistic=0.4,
        center=0.1,
        lcl=0.0,
        ucl=0.3,
        n=40,
        baseline_start=dt.date(2026, 1, 1),
        baseline_end=dt.date(2026, 1, 28),
        worse=True,
    )


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Run ``app`` on a free loopback port in a thread; yields its base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def seed_alert(runtime: Runtime, facts: SignalFacts | None = None) -> str:
    """Raise one alert (delivery silo by default) and return its id."""
    alert = runtime.write(lambda con: raise_alert(con, facts or signal(), runtime.lifecycle, runtime.config))
    assert alert is not None
    return alert.id  # type: ignore[no-any-return]
