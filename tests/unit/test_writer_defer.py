"""The writer's deferred work: after the queued jobs, at most ``max_delay`` late, once per key."""

from __future__ import annotations

import threading
import time

from gapwatch.adapters.writer import Writer


def test_deferred_work_waits_for_the_queue_to_empty_and_runs_once_per_key() -> None:
    writer = Writer(maxsize=16)
    order: list[str] = []
    gate = threading.Event()
    try:
        first = writer.submit(lambda: (gate.wait(5), order.append("a")))
        writer.defer("detect", lambda: order.append("deferred"), max_delay=10.0)
        writer.defer("detect", lambda: order.append("deferred twice"), max_delay=10.0)
        second = writer.submit(lambda: order.append("b"))
        gate.set()
        first.result(5), second.result(5)
        writer.flush()
    finally:
        writer.close()
    assert order == ["a", "b", "deferred"]


def test_a_busy_queue_cannot_postpone_deferred_work_past_its_delay() -> None:
    writer = Writer(maxsize=64)
    ran: list[float] = []
    started = time.monotonic()
    try:
        writer.defer("detect", lambda: ran.append(time.monotonic() - started), max_delay=0.05)
        for _ in range(40):  # 40 jobs of 10 ms: the queue stays busy for 0.4 s
            writer.submit(lambda: time.sleep(0.01))
        writer.call(lambda: None)
    finally:
        writer.close()
    assert len(ran) == 1 and ran[0] < 0.3


def test_closing_runs_the_work_the_last_jobs_deferred() -> None:
    writer = Writer(maxsize=4)
    done = threading.Event()
    writer.submit(lambda: writer.defer("detect", done.set, max_delay=60.0))
    writer.close()
    assert done.is_set()
