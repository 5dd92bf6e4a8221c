"""What a running service holds: configuration, the store it owns, the writer, the notifier.

:class:`Runtime` is built once per process (``gapwatch serve``) or per test (an in-memory
store). Reads use short-lived cursors; every write is a job on the single
:class:`~gapwatch.adapters.writer.Writer`, which commits before it answers.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa

from gapwatch.adapters.http import http_post
from gapwatch.adapters.service_schema import ensure_service_schema
from gapwatch.adapters.writer import Writer, WriterClosed
from gapwatch.config.schema import WorkspaceConfig
from gapwatch.domain.lifecycle import Lifecycle
from gapwatch.expectations import sync_expectations
from gapwatch.ingest.batches import BatchOutcome, LiveStore, ingest_batches
from gapwatch.ingest.files import IngestResult, ingest_file
from gapwatch.live.clock import PeriodTicker, ServiceClock
from gapwatch.live.monitor import LiveMonitor
from gapwatch.ports import Post
from gapwatch.quality.alerts import Alert, sync_from_signals
from gapwatch.quality.delivery import Notifier
from gapwatch.quality.webhooks import pending_alerts, queue_deliveries
from gapwatch.settings import Settings
from gapwatch.sqlport import Sql

T = TypeVar("T")


class RateLimiter:
    """A token bucket per API token: ``rate`` events per second, bursts up to one second's worth."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str, cost: int) -> bool:
        if self.rate <= 0:
            return True
        now = time.monotonic()
        with self._lock:
            level, last = self._buckets.get(key, (self.rate, now))
            level = min(max(self.rate, float(cost)), level + (now - last) * self.rate)
            if level < cost:
                self._buckets[key] = (level, now)
                return False
            self._buckets[key] = (level - cost, now)
            return True


@dataclass
class Runtime:
    """The live service's moving parts.

    Parameters
    ----------
    settings
        Limits, queue sizes, back-off.
    config
        The workspace configuration.
    store
        The store this process owns (a :class:`~gapwatch.adapters.duckdb_store.DuckDBStore`).
    post
        How webhooks are sent (replaced in tests).
    """

    settings: Settings
    config: WorkspaceConfig
    store: LiveStore
    post: Post = http_post
    lifecycle: Lifecycle = field(init=False)
    writer: Writer = field(init=False)
    notifier: Notifier = field(init=False)
    limiter: RateLimiter = field(init=False)
    live: LiveMonitor = field(init=False)
    ticker: PeriodTicker | None = field(init=False, default=None)
    _pending: list[pa.Table] = field(init=False, default_factory=list)  # stored, not yet judged
    _checkpointed: float = field(init=False, default=0.0)  # time.monotonic() of the last checkpoint

    def __post_init__(self) -> None:
        self.lifecycle = Lifecycle.from_config(self.config)
        with self.store.transaction() as con:
            ensure_service_schema(con)
        sync_expectations(self.store, self.config)
        self.store.prepare_live()  # keys of stored events in memory; checkpoints are ours to call
        s = self.settings
        clock = ServiceClock(s.clock, self.config.workspace.timezone, s.close_grace_seconds)
        self.live = LiveMonitor.start(self.store, self.config, clock)  # detector state rebuilt from the store
        self.writer = Writer(self.settings.write_queue_batches, self.settings.write_group_events)
        s = self.settings
        self.notifier = Notifier(
            self,
            max_attempts=s.webhook_max_attempts,
            backoff=s.webhook_backoff_seconds,
            timeout=s.webhook_timeout_seconds,
            post=self.post,
        )
        self.limiter = RateLimiter(s.rate_limit_events_per_second)
        with self.reader() as con:  # deliveries a previous run raised but did not finish
            self.notifier.notify(pending_alerts(con))
        if clock.kind == "wall":  # days close at midnight (+ grace) even when no event comes
            self.ticker = PeriodTicker(clock, lambda: self.notifier.notify(self.writer.call(self.tick_job())))

    @contextmanager
    def reader(self) -> Iterator[Sql]:
        """A cursor for reads on this thread; it sees every committed write."""
        cur = self.store.reader()
        try:
            yield cur
        finally:
            cur.close()

    def transact(self, job: Callable[[Sql], T]) -> Callable[[], T]:
        """``job`` wrapped in one transaction of the store's writer connection."""

        def run() -> T:
            with self.store.transaction() as con:
                return job(con)

        return run

    def write(self, job: Callable[[Sql], T]) -> T:
        """Run ``job`` in one transaction through the writer and wait for its commit."""
        return self.writer.call(self.transact(job), timeout=self.settings.write_timeout_seconds)

    def submit_events(self, records: Sequence[dict[str, Any]], source: str) -> Future[BatchOutcome]:
        """Queue one request's events; the future gives its outcome once they are committed.

        Requests of one source that wait in the writer's queue together are written as one
        chunk in one transaction (:meth:`ingest_group`); detection follows as deferred work
        (:meth:`detect_pending`). Raises :class:`~gapwatch.adapters.writer.WriteQueueFull` at
        once when the queue is full.
        """
        return self.writer.submit_group(
            ("events", source), (source, records), self.ingest_group, weight=len(records)
        )

    def ingest_group(self, requests: Sequence[tuple[str, Sequence[dict[str, Any]]]]) -> list[BatchOutcome]:
        """The writer job of queued requests from one source: one chunk, one commit.

        The requests are answered once their events are durable; judging them is deferred to
        :meth:`detect_pending`, which the writer runs when its queue is empty or at most
        ``detect_max_delay_seconds`` later. Under load one detection run then covers many
        groups, and a request never waits for the judging of its own or others' events.
        """
        source = requests[0][0]
        group = ingest_batches(
            self.store, [records for _, records in requests], source, self.config, self.live.closed_through
        )
        if group.stored.num_rows:
            self._pending.append(group.stored)
            self.writer.defer("detect", self.detect_pending, self.settings.detect_max_delay_seconds)
        # Short checkpoints while idle, about one a second, not one long pause in some request's commit.
        if time.monotonic() - self._checkpointed >= self.settings.checkpoint_every_seconds:
            self.writer.defer("checkpoint", self.checkpoint, self.settings.checkpoint_every_seconds)
        return group.outcomes

    def checkpoint(self) -> None:
        """Move the write-ahead log into the database file (deferred work on the writer)."""
        if self.store.checkpoint():
            self._checkpointed = time.monotonic()

    def detect_pending(self) -> list[Alert]:
        """Judge the experiences stored since the last run, raise and notify the alerts (writer thread)."""
        if not self._pending:
            return []  # judged already (an in-process ingest job judges its batch at once)
        stored = pa.concat_tables(self._pending)
        self._pending = []
        update = self.live.apply(self.store, stored)  # incremental detection (live/monitor.py)
        if not (update.signals_changed or update.mode in ("all", "rebuild", "failed")):
            return []  # no signal changed: no alert can be new
        return self.alert()

    def alert(self) -> list[Alert]:
        """Raise the alerts new signals call for (one transaction) and hand them to the notifier."""
        alerts = self.transact(self.raise_alerts)()
        self.notifier.notify(alerts)
        return alerts

    def ingest_job(self, records: Sequence[dict[str, Any]], source: str) -> Callable[[], BatchOutcome]:
        """The writer job that ingests one batch alone and judges it at once (no deferral).

        The outcome carries the alerts it raised (already notified).
        """

        def job() -> BatchOutcome:
            outcome = self.ingest_group([(source, records)])[0]
            outcome.alerts = self.detect_pending()
            return outcome

        return job

    def ingest_file_job(self, path: Path, source: str) -> Callable[[], IngestResult]:
        """The writer job that ingests a whole file (``gapwatch ingest`` through the server).

        Each chunk is its own transaction, as in ``gapwatch ingest``; the detector state is then
        rebuilt from the store (a file is a batch) and the alerts it calls for are raised.
        Raises :class:`~gapwatch.ingest.files.IngestError` when the file cannot be used.
        """

        def job() -> IngestResult:
            self.detect_pending()  # the live events stored so far are judged first
            result = ingest_file(
                self.store, path, source, config=self.config, closed_through=self.live.closed_through
            )
            if result.accepted:  # a file is a batch: the detector state is recomputed from the store
                self.live.rebuild(self.store)
                self.alert()
            return result

        return job

    def raise_alerts(self, con: Sql) -> list[Alert]:
        """Alerts for new signals, put in the webhook outbox in the same transaction."""
        alerts = sync_from_signals(con, self.lifecycle, self.config)
        queue_deliveries(con, alerts)
        return alerts

    def tick_job(self) -> Callable[[], list[Alert]]:
        """The writer job that closes periods on the wall clock and raises the alerts that calls for."""

        def job() -> list[Alert]:
            self.detect_pending()  # what is stored is judged before the day closes
            self.live.tick(self.store)
            return self.transact(self.raise_alerts)()

        return job

    def close(self) -> None:
        if self.ticker is not None:
            self.ticker.stop()
        with contextlib.suppress(WriterClosed):
            self.writer.flush()  # judge what is stored while the notifier can still send
        self.notifier.close()
        self.writer.close()
