"""Webhook delivery off the request path: a background worker with retries and back-off.

:meth:`Notifier.notify` only puts the alerts on a queue and returns at once, so ingest is
never blocked by a slow or failing receiver. The worker posts each payload, retries with
exponential back-off (``backoff``, ``2·backoff``, …) up to ``max_attempts``, and records
every final outcome — delivered or failed — in ``webhook_deliveries`` through the writer.
The alerts come from an outbox (``webhook_outbox``, written in the transaction that raised
them), and leave it only once handled, so a crash loses no delivery: the service re-queues
what is still pending when it starts (at-least-once delivery).
"""

from __future__ import annotations

import functools
import logging
import queue
import threading
import time
from collections.abc import Iterable
from typing import Any

from gapwatch.ports import Post
from gapwatch.quality.alerts import Alert
from gapwatch.quality.webhooks import Webhook, delivery_done, payload, record_delivery, subscribers

log = logging.getLogger(__name__)


class Notifier:
    """Deliver alerts to their silo's webhooks in a background thread.

    Parameters
    ----------
    runtime
        The service (subscriptions are read with its readers, outcomes recorded by its writer).
    max_attempts, backoff, timeout
        Retry policy: at most ``max_attempts`` tries, waiting ``backoff·2^k`` seconds.
    post
        How to send one request (``gapwatch.adapters.http.http_post`` in the service).
    """

    def __init__(
        self,
        runtime: Any,
        *,
        max_attempts: int = 5,
        backoff: float = 0.5,
        timeout: float = 5.0,
        post: Post,
        maxsize: int = 10_000,
    ) -> None:
        self.runtime = runtime
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.timeout = timeout
        self.post = post
        self._queue: queue.Queue[Alert | None] = queue.Queue(maxsize=maxsize)
        self._thread = threading.Thread(target=self._run, name="gapwatch-notifier", daemon=True)
        self._thread.start()

    def notify(self, alerts: Iterable[Alert]) -> None:
        """Queue alerts for delivery; never blocks (a full queue drops and logs)."""
        for alert in alerts:
            try:
                self._queue.put_nowait(alert)
            except queue.Full:
                log.warning("notifier queue full; alert %s not delivered", alert.id)

    def close(self, timeout: float = 10.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout=timeout)

    def drain(self, timeout: float = 10.0) -> None:
        """Wait until every queued alert has been handled (for tests and shutdown)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)

    def _run(self) -> None:
        while True:
            alert = self._queue.get()
            try:
                if alert is None:
                    return
                with self.runtime.reader() as con:
                    hooks = subscribers(con, alert)
                for hook in hooks:
                    self._deliver(hook, alert)
                self.runtime.write(functools.partial(delivery_done, alert_id=alert.id))
            except Exception:  # the alert stays in the outbox: tried again at the next start
                log.exception("webhook delivery failed")
            finally:
                self._queue.task_done()

    def _deliver(self, hook: Webhook, alert: Alert) -> None:
        body = payload(alert, hook.kind)
        status: int | None = None
        error: str | None = None
        attempt = 0
        for attempt in range(1, self.max_attempts + 1):
            try:
                status = self.post(hook.url, body, self.timeout)
                error = None if 200 <= status < 300 else f"HTTP {status}"
            except Exception as exc:
                status, error = None, f"{type(exc).__name__}: {exc}"
            if error is None:
                break
            if attempt < self.max_attempts:
                time.sleep(self.backoff * 2 ** (attempt - 1))
        outcome = "delivered" if error is None else "failed"
        self.runtime.write(
            lambda con: record_delivery(
                con,
                webhook_id=hook.id,
                alert_id=alert.id,
                attempts=attempt,
                status=outcome,
                http_status=status,
                error=error,
            )
        )
