"""The small interfaces the services work against (DESIGN.md, "Storage").

The embedded DuckDB store implements them today; a PostgreSQL store or a Spark-run
aggregation can implement them later without touching ``domain/`` or ``service/``.
Capabilities are separate Protocols, so an adapter states what it can do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import pyarrow as pa

from gapwatch.domain.experience import ExpectationVersion, IngestCounts, IngestJob, MalformedRow

Post = Callable[[str, dict[str, Any], float], int]
"""Send one JSON body to a URL within a total deadline (seconds) and return the HTTP status.

An outbound adapter; it raises :class:`DeliveryError` when no status came back.
"""


class DeliveryError(RuntimeError):
    """An outbound request that got no HTTP status.

    ``public`` says why without network detail (it is shown to silo members, who choose
    webhook URLs: "connection refused" against "timed out" would let them map ports);
    ``str(exc)`` holds the detail, for the server's log only.
    """

    public = "delivery failed"
    retry = True


class DestinationNotAllowed(DeliveryError):
    """The destination policy refuses every address of the URL's host."""

    public = "destination not allowed by the service's webhook policy"
    retry = False


class DeliveryTimeout(DeliveryError):
    """No HTTP status within the attempt's total deadline."""

    public = "no answer within the deadline"


class Unreachable(DeliveryError):
    """The host did not resolve, or no allowed address accepted a connection (TLS included)."""

    public = "receiver unreachable"


class BadResponse(DeliveryError):
    """What came back was not an HTTP status line (or its headers were too long)."""

    public = "not an HTTP answer"


class StoreLocked(RuntimeError):
    """Another process holds the store's file (a store adapter raises it instead of its driver's error)."""


class Clock(Protocol):
    """Where services read the time; the wall clock by default, event time for replays."""

    def now(self) -> dt.datetime: ...


class WallClock:
    """The wall clock, in UTC."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


@runtime_checkable
class ReadStore(Protocol):
    """Read access to the stored tables, as Arrow."""

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> pa.Table: ...

    def table(self, name: str) -> pa.Table: ...

    def count(self, name: str) -> int: ...


@runtime_checkable
class ExpectationStore(Protocol):
    """Versioned expectations: history is appended to, never rewritten."""

    def expectation_versions(self, *, current_only: bool = True) -> list[ExpectationVersion]: ...

    def record_expectations(
        self, new: Sequence[ExpectationVersion], superseded: Sequence[int], at: dt.datetime
    ) -> None: ...


@runtime_checkable
class EventStore(ReadStore, Protocol):
    """Where experiences, outcomes, rejected rows and identities are written.

    ``prepare_ingest`` compiles a job once; ``write_chunk`` stores one chunk in one
    transaction (whole or not at all) and returns its counts.
    """

    timezone: str

    def prepare_ingest(self, job: IngestJob) -> Any: ...

    def write_chunk(self, prepared: Any, chunk: pa.Table) -> IngestCounts: ...

    def write_malformed(self, job: IngestJob, rows: Sequence[MalformedRow]) -> IngestCounts: ...

    def pseudonym(self, identifier: str) -> str: ...

    def started_at(self) -> dt.datetime: ...

    def close(self) -> None: ...


@runtime_checkable
class Store(EventStore, ExpectationStore, Protocol):
    """Everything the ingest and expectation services need from one store."""


@runtime_checkable
class Engine(Protocol):
    """Runs gapwatch's set-wise steps, written once as DuckDB SQL, on one engine.

    Relations are named views of the engine's session; every query is DuckDB SQL (the
    Spark engine rewrites it, ``engines/dialect.py``), with ``$name`` parameters.
    Implemented by ``engines.duckdb_engine`` (the embedded default) and ``engines.spark_engine``.
    """

    name: str
    timezone: str

    def read_input(self, name: str, path: Path, fmt: str, chunks: Iterable[pa.Table]) -> list[str]:
        """Make ``name`` the raw text cells of a file, with ``__gw_row``; return its columns.

        ``chunks`` are gapwatch's own reader's chunks of the file (an engine that reads the
        file itself, in parallel, may ignore them).
        """
        ...

    def load_arrow(self, name: str, table: pa.Table) -> None: ...

    def load_parquet(self, name: str, folder: Path, schema: pa.Schema) -> None:
        """``name`` over a Hive-partitioned Parquet folder (an empty relation when it holds none)."""
        ...

    def create(
        self, name: str, sql: str, params: Mapping[str, Any] | None = None, *, materialise: bool = True
    ) -> None:
        """``sql`` as ``name``: materialised when it is read several times, else a view where possible."""
        ...

    def fetch(self, sql: str, params: Mapping[str, Any] | None = None) -> pa.Table: ...

    def write_parquet(self, sql: str, folder: Path, partition: str) -> None:
        """Append the rows of ``sql`` to a Parquet folder, Hive-partitioned by ``partition``."""
        ...

    def ibis_table(self, name: str) -> Any:
        """``name`` as an Ibis table of this engine (the metric expressions run on it)."""
        ...

    def run_ibis(self, expr: Any) -> pa.Table:
        """Run an Ibis expression built on :meth:`ibis_table` to Arrow."""
        ...

    def drop(self, *names: str) -> None: ...

    def close(self) -> None: ...
