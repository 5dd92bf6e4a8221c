"""One writer at a time on a lake: an ingest (which dedupes against what the lake holds, then
appends) and an erasure (which swaps partition folders) must not interleave.

The lock is ``LAKE/.gapwatch-writer.lock`` held with ``flock``, waited for: a second writer on
this machine waits for the first. It is a lock of one machine's file system; writers on several
machines (jobs writing to object storage) must be serialised by their scheduler.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["LOCK_NAME", "lake_writer"]

LOCK_NAME = ".gapwatch-writer.lock"


@contextmanager
def lake_writer(lake: Path) -> Iterator[None]:
    """Hold the lake's writer lock (creating the lake folder) for the duration of the block."""
    lake.mkdir(parents=True, exist_ok=True)
    fd = os.open(lake / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock, also when the process dies
