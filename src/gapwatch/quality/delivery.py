"""Webhook delivery off the request path: one lane per webhook, retries, back-off, an outbox.

:meth:`Notifier.notify` only puts the alerts on a queue and returns at once, so ingest is
never blocked by a slow or failing receiver. A dispatcher thread looks up each alert's
subscribers and hands one task per webhook to that webhook's *lane*: a FIFO with its own
thread, started when work arrives and gone when the lane is empty. So a receiver that
trickles its answer, offers a gigabyte or never answers holds back only its own later
alerts, never another webhook's and never another silo's (issue 9); the number of lanes
is bounded by the number of webhooks (``webhook_max_per_silo`` each).

Each attempt has one total deadline (``timeout``; the ``Post`` adapter enforces it), failed
attempts are retried with exponential back-off (``backoff``, ``2·backoff``, …) up to
``max_attempts`` (a destination the policy refuses is not retried), and every final outcome
— delivered or failed — is recorded in ``webhook_deliveries`` through the writer, with a
reason that carries no network detail (members read it; the detail goes to the log).

The alerts come from an outbox (``webhook_outbox``, written in the transaction that raised
them) and leave it only once every subscriber was tried and its outcome recorded, so a crash
or a stop loses no delivery: the service re-queues what is still pending when it starts
(at-least-once delivery).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from gapwatch.ports import DeliveryError, Post
from gapwatch.quality.alerts import Alert
from gapwatch.quality.webhooks import Webhook, delivery_done, payload, record_delivery, subscribers

log = logging.getLogger(__name__)


@dataclass(eq=False)
class _Fanout:
    """One alert on its way to its subscribers: leaves the outbox when the last one is done."""

    alert: Alert
    remaining: int
    complete: bool = True  # every subscriber tried and recorded


@dataclass(eq=False)
class _Lane:
    tasks: deque[tuple[Webhook, _Fanout]] = field(default_factory=deque)
    running: bool = False


class Notifier:
    """Deliver alerts to their silo's webhooks, each webhook in its own lane.

    Parameters
    ----------
    runtime
        The service (subscriptions are read with its readers, outcomes recorded by its writer).
    max_attempts, backoff, timeout
        Retry policy: at most ``max_attempts`` tries, waiting ``backoff·2^k`` seconds;
        ``timeout`` is each attempt's total deadline.
    post
        How to send one request (:class:`gapwatch.adapters.http.HttpPost` in the service).
    maxsize, lane_size
        Alerts waiting for the dispatcher; tasks waiting in one webhook's lane. Beyond them
        an alert is not sent now and stays in the outbox for the next start.
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
        lane_size: int = 1_000,
    ) -> None:
        self.runtime = runtime
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.timeout = timeout
        self.post = post
        self.lane_size = lane_size
        self._queue: queue.Queue[Alert | None] = queue.Queue(maxsize=maxsize)
        self._lanes: dict[str, _Lane] = {}
        self._open: set[_Fanout] = set()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._dispatch, name="gapwatch-notifier", daemon=True)
        self._thread.start()

    # -- the face ----------------------------------------------------------------------------
    def notify(self, alerts: Iterable[Alert]) -> None:
        """Queue alerts for delivery; never blocks (a full queue leaves them in the outbox)."""
        for alert in alerts:
            try:
                self._queue.put_nowait(alert)
            except queue.Full:
                log.warning("notifier queue full; alert %s stays in the outbox", alert.id)

    def close(self, timeout: float = 1.0) -> None:
        """Stop: no new attempt starts; what is not delivered stays in the outbox for the next start."""
        self._closing.set()
        with contextlib.suppress(queue.Full):  # a full queue: the dispatcher sees the flag anyway
            self._queue.put_nowait(None)
        self._thread.join(timeout=timeout)

    def drain(self, timeout: float = 10.0) -> None:
        """Wait until every queued alert has been handled (for tests)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                busy = bool(self._open) or any(lane.tasks or lane.running for lane in self._lanes.values())
            if not busy and not self._queue.unfinished_tasks:
                return
            time.sleep(0.01)

    # -- the dispatcher: alerts to lanes ------------------------------------------------------------
    def _dispatch(self) -> None:
        while True:
            alert = self._queue.get()
            try:
                if alert is None or self._closing.is_set():
                    return
                with self.runtime.reader() as con:
                    hooks = subscribers(con, alert)
                if not hooks:
                    self._record(functools.partial(delivery_done, alert_id=alert.id))
                    continue
                fanout = _Fanout(alert, len(hooks))
                with self._lock:
                    self._open.add(fanout)
                for hook in hooks:
                    self._enqueue(hook, fanout)
            except Exception:  # the alert stays in the outbox: tried again at the next start
                log.exception("webhook dispatch failed")
            finally:
                self._queue.task_done()

    def _enqueue(self, hook: Webhook, fanout: _Fanout) -> None:
        with self._lock:
            lane = self._lanes.setdefault(hook.id, _Lane())
            full = len(lane.tasks) >= self.lane_size
            if not full:
                lane.tasks.append((hook, fanout))
            start = not full and not lane.running
            lane.running = lane.running or start
        if full:
            log.warning(
                "webhook %s: %d deliveries wait; alert %s stays in the outbox",
                hook.id,
                self.lane_size,
                fanout.alert.id,
            )
            self._done(fanout, complete=False)
        elif start:
            name = f"gapwatch-webhook-{hook.id}"
            threading.Thread(target=self._lane, args=(hook.id,), name=name, daemon=True).start()

    # -- a lane: one webhook's deliveries, in order ------------------------------------------------------
    def _lane(self, hook_id: str) -> None:
        while True:
            with self._lock:
                lane = self._lanes[hook_id]
                if not lane.tasks or self._closing.is_set():
                    lane.running = False
                    if not lane.tasks:
                        del self._lanes[hook_id]
                    return
                hook, fanout = lane.tasks.popleft()
            try:
                recorded = self._deliver(hook, fanout.alert)
            except Exception:
                log.exception("webhook %s: delivery of alert %s failed", hook.id, fanout.alert.id)
                recorded = False
            self._done(fanout, complete=recorded)

    def _done(self, fanout: _Fanout, *, complete: bool) -> None:
        with self._lock:
            fanout.remaining -= 1
            fanout.complete = fanout.complete and complete
            last = fanout.remaining == 0
            if last:
                self._open.discard(fanout)
        if last and fanout.complete:
            self._record(functools.partial(delivery_done, alert_id=fanout.alert.id))

    def _deliver(self, hook: Webhook, alert: Alert) -> bool:
        """Try ``hook`` until delivered or out of attempts; True once the outcome is recorded."""
        body = payload(alert, hook.kind)
        status: int | None = None
        error: str | None = None
        attempt = 0
        for attempt in range(1, self.max_attempts + 1):
            status, error, retry = self._attempt(hook, body, attempt)
            if error is None or not retry:
                break
            if attempt < self.max_attempts and self._closing.wait(self.backoff * 2 ** (attempt - 1)):
                return False  # stopping: the alert stays in the outbox
        outcome = "delivered" if error is None else "failed"
        return self._record(
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

    def _attempt(
        self, hook: Webhook, body: dict[str, Any], attempt: int
    ) -> tuple[int | None, str | None, bool]:
        """(HTTP status, reason shown to members or None, worth retrying)."""
        try:
            status = self.post(hook.url, body, self.timeout)
        except DeliveryError as exc:
            log.warning("webhook %s attempt %d: %s (%s)", hook.id, attempt, exc.public, exc)
            return None, exc.public, exc.retry
        except Exception as exc:  # an adapter's own error: its words stay in the log
            log.warning("webhook %s attempt %d failed: %s: %s", hook.id, attempt, type(exc).__name__, exc)
            return None, "delivery failed", True
        if 200 <= status < 300:
            return status, None, False
        if 300 <= status < 400:
            return status, f"HTTP {status} (redirects are not followed)", False
        return status, f"HTTP {status}", True

    def _record(self, job: Any) -> bool:
        try:
            self.runtime.write(job)
        except Exception as exc:  # stopping (the writer is closed) or a store error: the outbox keeps it
            log.warning("webhook outcome not recorded: %s: %s", type(exc).__name__, exc)
            return False
        return True
