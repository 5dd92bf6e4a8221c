"""Helpers for the live tests (not a test module): a config, an in-process replay, snapshots."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import uvicorn

from gapwatch.adapters.duckdb_store import DuckDBStore
from gapwatch.api import Runtime
from gapwatch.client.http import PostSummary
from gapwatch.client.replay import Replayer
from gapwatch.config import default_config
from gapwatch.config.schema import WorkspaceConfig
from gapwatch.live.state import StateSnapshot, stored_state_snapshot
from gapwatch.settings import Settings

CUSTOMERS, DAYS, SEED = 700, 56, 5
BASELINE_DAYS = 14  # a short baseline: most of the 56 days are judged (phase II)
SECRET = b"live-secret-live-secret-live-sec"
Record = tuple[str, dict[str, Any]]


def live_config(baseline_days: int = BASELINE_DAYS) -> WorkspaceConfig:
    config = default_config()
    detection = config.detection.model_copy(update={"baseline_days": baseline_days})
    return config.model_copy(update={"detection": detection})


def event_runtime(config: WorkspaceConfig, store: DuckDBStore | None = None, **settings: Any) -> Runtime:
    """A service on the event-time clock (a replay), over ``store`` (default: in memory)."""
    store = store or DuckDBStore(timezone=config.workspace.timezone, secret=SECRET)
    return Runtime(Settings.model_validate({"clock": "event", **settings}), config, store)


class InProcessClient:
    """The replay client's one method, posting through the service's ingest job (as the route does)."""

    def __init__(self, runtime: Runtime, batch_size: int, on_close: Callable[[Runtime], None] | None) -> None:
        self.runtime, self.batch_size, self.on_close = runtime, batch_size, on_close
        self.requests = 0
        self.closed = runtime.live.closed_through

    def post_events(self, events: list[dict[str, Any]], *, source: str) -> PostSummary:
        outcome = self.runtime.writer.call(self.runtime.ingest_job(events, source))
        self.requests += 1
        if self.on_close is not None and self.runtime.live.closed_through != self.closed:
            self.closed = self.runtime.live.closed_through
            self.on_close(self.runtime)
        return PostSummary(
            1,
            outcome.received,
            outcome.count("accepted"),
            outcome.count("duplicate"),
            outcome.count("rejected"),
        )


def replay(
    runtime: Runtime,
    records: Iterable[Record],
    batch: int = 300,
    on_close: Callable[[Runtime], None] | None = None,
) -> int:
    """Replay ``records`` with ``gapwatch replay``'s own :class:`Replayer` (per source in batches,
    each day whole before the next), posting in process; ``on_close`` runs whenever a day has
    closed. Returns the number of requests."""
    client = InProcessClient(runtime, batch, on_close)
    Replayer(client, timezone=runtime.config.workspace.timezone).run(iter(records))  # type: ignore[arg-type]
    return client.requests


# (moment, segment, metric): (events a day, miss rate before / after the shift, adequate, desired)
STREAMS: dict[tuple[str, str, str], tuple[float, float, float, float, float]] = {
    ("delivery", "premium", "delivery_days"): (60.0, 0.10, 0.35, 3.0, 1.0),  # n·p ≥ 5: a daily p chart
    ("delivery", "standard", "delivery_days"): (50.0, 0.10, 0.10, 5.0, 2.0),
    ("delivery", "business", "delivery_days"): (20.0, 0.12, 0.12, 5.0, 2.0),
    ("checkout", "all", "page_load_seconds"): (60.0, 0.08, 0.08, 2.5, 1.0),
    ("support_ticket", "business", "first_response_hours"): (3.0, 0.2, 0.2, 8.0, 1.0),
    ("renewal_offer", "all", "renewal_notice_days"): (0.3, 0.3, 0.3, 30.0, 60.0),
}
START = dt.date(2026, 1, 5)  # a Monday
SHIFT_DAY = 32  # premium deliveries go wrong from here


def synthetic_records(days: int = 45, seed: int = 11, source: str = "api") -> list[Record]:
    """Experience records of a few seeded streams, in event-time order (one shift on day 32)."""
    rng = np.random.default_rng(seed)
    out: list[tuple[dt.datetime, dict[str, Any]]] = []
    for (moment, segment, metric), (volume, before, after, adequate, desired) in STREAMS.items():
        width, sign = abs(desired - adequate), 1.0 if desired > adequate else -1.0
        for d in range(days):
            p = after if d >= SHIFT_DAY else before
            for k in range(int(rng.poisson(volume))):
                miss = rng.random() < p
                step = -rng.uniform(0.05, 1.5) if miss else rng.uniform(0.05, 1.3)
                at = dt.datetime.combine(START + dt.timedelta(days=d), dt.time(), dt.UTC) + dt.timedelta(
                    seconds=int(rng.integers(0, 86_400))
                )
                out.append(
                    (
                        at,
                        {
                            "event_id": f"{moment[:3]}-{segment[:3]}-{d}-{k}",
                            "customer_id": f"C{int(rng.integers(0, 5000))}",
                            "occurred_at": at.isoformat(),
                            "moment": moment,
                            "segment": segment,
                            "metric": metric,
                            # durations and scores are never negative (ingest rejects them)
                            "value": round(max(0.0, adequate + sign * step * width), 4),
                        },
                    )
                )
    out.sort(key=lambda r: (r[0], r[1]["event_id"]))
    return [(source, r) for _, r in out]


def stored(runtime: Runtime, closed: dt.date | None) -> StateSnapshot:
    """What the service wrote to its store (``stream_periods`` and ``signals``)."""
    return stored_state_snapshot(runtime.store.reader(), closed)


@contextmanager
def serving(runtime: Runtime) -> Iterator[str]:
    """The service's HTTP face over ``runtime`` on a free loopback port (a thread); yields its URL."""
    from gapwatch.api import create_app

    server = uvicorn.Server(
        uvicorn.Config(
            create_app(runtime, close_on_shutdown=False),
            host="127.0.0.1",
            port=0,
            log_level="warning",
            lifespan="off",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def admin_token(runtime: Runtime) -> dict[str, str]:
    from gapwatch.auth.tokens import create_token
    from gapwatch.domain.access import Role

    token = runtime.write(lambda con: create_token(con, Role.ADMIN))[0]
    return {"Authorization": f"Bearer {token}"}
