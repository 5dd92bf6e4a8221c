"""The single writer: one dedicated thread fed by a bounded queue (DESIGN.md, "Storage").

Every write of the live service — event batches, alerts, cases, tokens — is a job run by
one thread on the store's writer connection; each job commits its own transaction(s)
before it returns. A job's future resolves only after that, so a caller acknowledges
only what is durable.

**Group commit.** Jobs submitted with :meth:`Writer.submit_group` under the same key
(event batches of one source) are drained together when several wait in the queue: the
writer hands all of them to one ``run`` call — one transaction, one Arrow chunk — and
resolves each future with its own result after that commit. Under load this turns many
small transactions into a few large ones (their fixed cost is paid once); with no queue
a request is written alone, so an idle service adds no delay. A group that fails is run
again one request at a time, so one bad request cannot fail the others.

**Deferred work.** :meth:`Writer.defer` schedules a job to run on the writer *after* the
jobs queued now: when the queue is empty, or once the job has waited ``max_delay`` seconds
(so that a busy queue cannot postpone it for long). Deferring the same key again before
it ran schedules it once. The live service acknowledges a batch as soon as it is committed
and defers detection this way: under load one detection run covers many batches.

**Bounds.** The queue holds at most ``maxsize`` jobs; when it is full,
:meth:`Writer.submit` and :meth:`Writer.submit_group` raise :class:`WriteQueueFull` at
once instead of waiting, so the API can answer 503 with ``Retry-After`` and hold no
half-written state. A group never exceeds ``max_group_weight`` (events), which bounds a
transaction's size and so its memory and its latency.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")
log = logging.getLogger(__name__)


class WriteQueueFull(RuntimeError):
    """The writer's queue is full; try again after a short delay."""


class WriterClosed(RuntimeError):
    """The writer has been stopped."""


@dataclass(slots=True)
class _Single:
    job: Callable[[], Any]
    future: Future[Any]


@dataclass(slots=True)
class _Member(Generic[T, R]):
    key: Hashable
    item: T
    run: Callable[[Sequence[T]], Sequence[R]]
    weight: int
    future: Future[R]


_Entry = _Single | _Member[Any, Any]


class Writer:
    """Run write jobs one at a time on one thread; group queued jobs of the same kind.

    Parameters
    ----------
    maxsize
        Jobs that may wait; beyond that a submit raises :class:`WriteQueueFull`.
    max_group_weight
        Most weight (events) one group commit may hold; a member heavier than this runs alone.

    Examples
    --------
    >>> writer = Writer(maxsize=4)
    >>> writer.call(lambda: 1 + 1)
    2
    >>> double = lambda items: [2 * i for i in items]
    >>> writer.submit_group("x", 21, double).result()
    42
    >>> writer.close()
    """

    def __init__(self, maxsize: int = 64, max_group_weight: int = 10_000) -> None:
        self.maxsize = maxsize
        self.max_group_weight = max_group_weight
        self._queue: deque[_Entry] = deque()
        lock = threading.Lock()
        self._ready = threading.Condition(lock)  # a job was queued (or the writer closed)
        self._space = threading.Condition(lock)  # a job left the queue
        self._closed = False
        self._deferred: dict[Hashable, tuple[float, Callable[[], Any]]] = {}
        self._groups = 0
        self._grouped = 0
        self._thread = threading.Thread(target=self._run, name="gapwatch-writer", daemon=True)
        self._thread.start()

    @property
    def depth(self) -> int:
        """Jobs waiting now."""
        return len(self._queue)

    @property
    def full(self) -> bool:
        """Whether a submit now would be refused (checked before a request body is even read)."""
        return len(self._queue) >= self.maxsize

    @property
    def stats(self) -> dict[str, float]:
        """Group commits so far and the mean number of jobs in each."""
        groups = self._groups
        return {"groups": groups, "jobs_per_group": self._grouped / groups if groups else 0.0}

    def _put(self, entry: _Entry, wait: bool, timeout: float) -> None:
        with self._ready:
            if self._closed:
                raise WriterClosed("the writer is stopped")
            if len(self._queue) >= self.maxsize:
                if not wait or not self._space.wait_for(
                    lambda: self._closed or len(self._queue) < self.maxsize, timeout
                ):
                    raise WriteQueueFull(f"write queue full ({self.maxsize} jobs waiting)")
                if self._closed:
                    raise WriterClosed("the writer is stopped")
            self._queue.append(entry)
            self._ready.notify()

    def submit(self, job: Callable[[], T], *, wait: bool = False, timeout: float = 30.0) -> Future[T]:
        """Queue ``job``; its future gives the job's result after the commit.

        With ``wait=False`` (ingest) a full queue raises :class:`WriteQueueFull` at once;
        with ``wait=True`` (rare administrative writes) it waits up to ``timeout`` seconds.
        """
        future: Future[T] = Future()
        self._put(_Single(job, future), wait, timeout)
        return future

    def submit_group(
        self,
        key: Hashable,
        item: T,
        run: Callable[[Sequence[T]], Sequence[R]],
        *,
        weight: int = 1,
    ) -> Future[R]:
        """Queue ``item``; it may be written together with other queued items of ``key``.

        ``run(items)`` writes the items in one transaction, in order, and returns one result
        per item; it is called on the writer thread. A full queue raises
        :class:`WriteQueueFull` at once.
        """
        future: Future[R] = Future()
        self._put(_Member(key, item, run, weight, future), False, 0.0)
        return future

    def call(self, job: Callable[[], T], timeout: float = 30.0) -> T:
        """Run ``job`` through the queue and wait for its committed result."""
        return self.submit(job, wait=True, timeout=timeout).result(timeout=timeout)

    def close(self, timeout: float = 30.0) -> None:
        """Finish the queued jobs, then stop the thread."""
        with self._ready:
            if self._closed:
                return
            self._closed = True
            self._ready.notify_all()
            self._space.notify_all()
        self._thread.join(timeout=timeout)

    def defer(self, key: Hashable, job: Callable[[], Any], max_delay: float) -> None:
        """Run ``job`` on the writer once the queue is empty, or after ``max_delay`` seconds at most.

        A job already deferred under ``key`` keeps its place (and its deadline). Errors are
        logged: a deferred job has no caller to give them to. A closing writer still runs the
        jobs deferred by the jobs it finishes (a committed batch is judged before it stops).
        """
        with self._ready:
            if key not in self._deferred:
                self._deferred[key] = (time.monotonic() + max_delay, job)
                self._ready.notify()

    def flush(self, timeout: float = 30.0) -> None:
        """Run every deferred job now (on the writer) and wait for them."""
        self.call(self._run_deferred, timeout=timeout)

    # -- the writer thread ---------------------------------------------------------------------------
    def _due(self) -> bool:
        """Whether a deferred job should run before the next queued one (caller holds the lock)."""
        if not self._deferred:
            return False
        return not self._queue or min(t for t, _ in self._deferred.values()) <= time.monotonic()

    def _run_deferred(self) -> None:
        with self._ready:
            jobs = [job for _, job in self._deferred.values()]
            self._deferred.clear()
        for job in jobs:
            try:
                job()
            except Exception:
                log.exception("a deferred write job failed")

    def _next(self) -> list[_Entry] | None:
        """The next job, or the run of queued group members that can share its commit."""
        with self._ready:
            self._ready.wait_for(lambda: bool(self._queue) or bool(self._deferred) or self._closed)
            if self._due():
                return []  # the deferred jobs' turn
            if not self._queue:
                return None
            first = self._queue.popleft()
            taken: list[_Entry] = [first]
            if isinstance(first, _Member):
                weight = first.weight
                while self._queue:
                    head = self._queue[0]
                    if not (
                        isinstance(head, _Member)
                        and head.key == first.key
                        and head.run == first.run
                        and weight + head.weight <= self.max_group_weight
                    ):
                        break
                    taken.append(self._queue.popleft())
                    weight += head.weight
            self._space.notify_all()
            return taken

    def _run(self) -> None:
        while (taken := self._next()) is not None:
            if not taken:
                self._run_deferred()
                continue
            first = taken[0]
            if isinstance(first, _Single):
                _settle(first.future, first.job)
                continue
            members = [m for m in taken if isinstance(m, _Member) and m.future.set_running_or_notify_cancel()]
            if members:
                self._groups += 1
                self._grouped += len(members)
                self._run_group(members)

    @staticmethod
    def _run_group(members: list[_Member[Any, Any]]) -> None:
        run = members[0].run
        try:
            results = run([m.item for m in members])
            if len(results) != len(members):
                raise RuntimeError(f"a group run gave {len(results)} results for {len(members)} items")
        except BaseException as exc:
            if len(members) == 1:
                members[0].future.set_exception(exc)
                return
            log.warning("a group of %d writes failed (%s); writing them one by one", len(members), exc)
            for m in members:
                _settle(m.future, functools.partial(_first, run, m.item), running=True)
            return
        for m, result in zip(members, results, strict=True):
            m.future.set_result(result)


def _first(run: Callable[[Sequence[Any]], Sequence[Any]], item: Any) -> Any:
    return run([item])[0]


def _settle(future: Future[Any], job: Callable[[], Any], running: bool = False) -> None:
    """Run ``job`` and put its result, or its error, on ``future`` (unless it was cancelled)."""
    if not running and not future.set_running_or_notify_cancel():
        return
    try:
        result = job()
    except BaseException as exc:  # the job's error belongs to its caller
        future.set_exception(exc)
    else:
        future.set_result(result)
