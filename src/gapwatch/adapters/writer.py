"""The single writer: one dedicated thread fed by a bounded queue (DESIGN.md, "Storage").

Every write of the live service — event batches, alerts, cases, tokens — is a job run by
one thread on the store's writer connection; each job commits its own transaction(s)
before it returns. A job's future resolves only after that, so a caller acknowledges
only what is durable. When the queue is full, :meth:`Writer.submit`
raises :class:`WriteQueueFull` at once instead of waiting, so the API can answer 503 with
``Retry-After`` and hold no half-written state.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")
Job = tuple[Callable[[], Any], "Future[Any]"]


class WriteQueueFull(RuntimeError):
    """The writer's queue is full; try again after a short delay."""


class WriterClosed(RuntimeError):
    """The writer has been stopped."""


class Writer:
    """Run write jobs one at a time on one thread.

    Parameters
    ----------
    maxsize
        Jobs that may wait; beyond that :meth:`submit` raises :class:`WriteQueueFull`.
    """

    def __init__(self, maxsize: int = 64) -> None:
        self.maxsize = maxsize
        self._queue: queue.Queue[Job | None] = queue.Queue(maxsize=maxsize)
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="gapwatch-writer", daemon=True)
        self._thread.start()

    @property
    def depth(self) -> int:
        """Jobs waiting now."""
        return self._queue.qsize()

    def submit(self, job: Callable[[], T], *, wait: bool = False, timeout: float = 30.0) -> Future[T]:
        """Queue ``job``; its future gives the job's result after the commit.

        With ``wait=False`` (ingest) a full queue raises :class:`WriteQueueFull` at once;
        with ``wait=True`` (rare administrative writes) it waits up to ``timeout`` seconds.
        """
        if self._closed:
            raise WriterClosed("the writer is stopped")
        future: Future[T] = Future()
        try:
            self._queue.put((job, future), block=wait, timeout=timeout if wait else None)
        except queue.Full as exc:
            raise WriteQueueFull(f"write queue full ({self.maxsize} jobs waiting)") from exc
        return future

    def call(self, job: Callable[[], T], timeout: float = 30.0) -> T:
        """Run ``job`` through the queue and wait for its committed result."""
        return self.submit(job, wait=True, timeout=timeout).result(timeout=timeout)

    def close(self, timeout: float = 30.0) -> None:
        """Finish the queued jobs, then stop the thread."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._thread.join(timeout=timeout)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            job, future = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = job()
            except BaseException as exc:  # the job's error belongs to its caller
                future.set_exception(exc)
            else:
                future.set_result(result)
