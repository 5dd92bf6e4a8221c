"""What a running service holds: configuration, the owning connection, the writer, the notifier.

:class:`Runtime` is built once per process (``gapwatch serve``) or per test (in-memory
DuckDB). Reads use short-lived cursors of the owning connection; writes go through the
single :class:`~gapwatch.adapters.writer.Writer`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from gapwatch.adapters.notifiers import Notifier, Post, http_post
from gapwatch.adapters.service_schema import ensure_service_schema
from gapwatch.adapters.writer import Writer
from gapwatch.config.schema import WorkspaceConfig
from gapwatch.domain.lifecycle import Lifecycle
from gapwatch.service.events import BatchOutcome, IngestContext, IngestFn, ingest_records
from gapwatch.service.sqlport import Sql
from gapwatch.settings import Settings


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
    """The live service's moving parts."""

    settings: Settings
    config: WorkspaceConfig
    con: Any
    secret: bytes
    ingest: IngestFn = ingest_records
    post: Post = http_post
    lifecycle: Lifecycle = field(init=False)
    writer: Writer = field(init=False)
    notifier: Notifier = field(init=False)
    limiter: RateLimiter = field(init=False)

    def __post_init__(self) -> None:
        self.lifecycle = Lifecycle.from_config(self.config)
        ensure_service_schema(self.con)
        self.writer = Writer(self.con, maxsize=self.settings.write_queue_batches)
        s = self.settings
        self.notifier = Notifier(
            self.writer,
            max_attempts=s.webhook_max_attempts,
            backoff=s.webhook_backoff_seconds,
            timeout=s.webhook_timeout_seconds,
            post=self.post,
        )
        self.limiter = RateLimiter(s.rate_limit_events_per_second)

    @contextmanager
    def reader(self) -> Iterator[Sql]:
        """A cursor for reads on this thread; it sees every committed write."""
        cur = self.con.cursor()
        try:
            yield cur
        finally:
            cur.close()

    def write(self, job: Callable[[Sql], Any]) -> Any:
        """Run an administrative write through the writer and wait for its commit."""
        return self.writer.call(job, timeout=self.settings.write_timeout_seconds)

    def ingest_job(self, records: Sequence[dict[str, Any]], source: str) -> Callable[[Sql], BatchOutcome]:
        """The writer job that ingests one batch and raises the alerts it causes."""

        def job(con: Sql) -> BatchOutcome:
            return self.ingest(con, records, source, IngestContext(self.config, self.secret))

        return job

    def close(self) -> None:
        self.notifier.close()
        self.writer.close()
