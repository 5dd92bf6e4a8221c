"""The embedded store: one DuckDB file per workspace (or ``:memory:`` for tests).

All writes go through one writer connection, guarded by a lock, each in its own
transaction; readers get their own cursors. Writes are Arrow batches, never rows. The
connection's time zone is the workspace's, so naive timestamps are read in it and a
``TIMESTAMPTZ`` cast to ``DATE`` is the local day (the period).
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import astuple, fields
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from gapwatch.adapters import duckdb_ingest
from gapwatch.adapters.duckdb_schema import SCHEMA
from gapwatch.adapters.duckdb_sql import CANARY, PAYLOAD, hash64, hmac_pads, ident, lit
from gapwatch.adapters.key_filter import KeyFilter
from gapwatch.domain.experience import (
    ExpectationVersion,
    IngestCounts,
    IngestJob,
    MalformedRow,
    RejectCode,
    pseudonym,
)
from gapwatch.ports import StoreLocked

MEMORY = ":memory:"
TABLES = ("expectations", "experiences", "outcomes", "rejected", "identities")


def _pads(secret: bytes) -> tuple[bytes, bytes]:
    """RFC 2104 inner and outer padded keys, so SQL can compute HMAC-SHA256."""
    return hmac_pads(secret)


def _usable_cores() -> int:
    """The cores this process may run on (its CPU affinity), at least one."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # no affinity on this platform (macOS, Windows)
        return max(1, os.cpu_count() or 1)


class DuckDBStore:
    """The DuckDB store.

    Parameters
    ----------
    path
        The database file, or ``":memory:"``.
    timezone
        The workspace time zone (IANA name).
    secret
        Key of the pseudonymous customer ids; a random one when not given (tests).
    read_only
        Open without the writer (another process may hold the file).
    memory_limit
        DuckDB's buffer budget (e.g. ``"1GB"``). DuckDB's own default is 80 % of the
        machine; a bounded budget keeps a 10M-row ingest well under 2 GB (it evicts cached
        blocks and spills temporary tables instead).

    Examples
    --------
    >>> store = DuckDBStore()
    >>> store.count("experiences")
    0
    >>> store.close()
    """

    def __init__(
        self,
        path: str | Path = MEMORY,
        *,
        timezone: str = "UTC",
        secret: bytes | None = None,
        read_only: bool = False,
        memory_limit: str | None = "512MB",
    ) -> None:
        self.path = str(path)
        self.timezone = timezone
        self.read_only = read_only
        self._secret = secret if secret is not None else os.urandom(32)
        self._pads = _pads(self._secret)
        self._lock = threading.RLock()
        self._known: dict[str, KeyFilter] = {}  # stored event-id hashes per table (live service)
        self._macros: set[str] = set()  # stage macros defined on the writer connection
        try:
            self._con = duckdb.connect(self.path, read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise StoreLocked(str(exc)) from exc
            raise
        self._con.execute(f"SET TimeZone = {lit(timezone)}")
        if memory_limit:
            self._con.execute(f"SET memory_limit = {lit(memory_limit)}")
        # DuckDB sizes its thread pool by the machine's cores, not the ones this process may run
        # on: pinned to one core (taskset, a CPU-limited container) extra threads only contend.
        self._con.execute(f"SET threads = {_usable_cores()}")
        # Tables here carry no meaningful row order; letting DuckDB drop it parallelises inserts.
        self._con.execute("SET preserve_insertion_order = false")
        if not read_only:
            self._con.execute(SCHEMA)
            self._check_hash_canary()

    def _check_hash_canary(self) -> None:
        """Rehash stored rows if DuckDB's ``hash`` changed (an upgrade), so dedupe stays exact."""
        now = str(self._con.execute(f"SELECT {CANARY}").fetchall()[0][0])
        row = self._con.execute("SELECT value FROM gapwatch_meta WHERE key = 'hash_canary'").fetchone()
        if row is not None and row[0] == now:
            return
        with self.transaction() as con:
            if row is not None:
                for table, parts in PAYLOAD.items():
                    con.execute(
                        f"UPDATE {table} SET key_hash = {hash64('event_id')}, payload_hash = {hash64(*parts)}"
                    )
                con.execute(f"UPDATE rejected SET raw_hash = {hash64('CAST(raw AS VARCHAR)')}")
            con.execute("INSERT OR REPLACE INTO gapwatch_meta VALUES ('hash_canary', $v)", {"v": now})

    # -- connections -------------------------------------------------------------------------
    def reader(self) -> duckdb.DuckDBPyConnection:
        """A new read connection to the same database, in the workspace time zone."""
        cursor = self._con.cursor()
        cursor.execute(f"SET TimeZone = {lit(self.timezone)}")
        return cursor

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The writer connection inside one transaction: committed whole or rolled back."""
        if self.read_only:
            raise PermissionError("the store is open read-only")
        with self._lock:
            self._con.execute("BEGIN TRANSACTION")
            try:
                yield self._con
            except BaseException:
                self._con.execute("ROLLBACK")
                raise
            self._con.execute("COMMIT")

    def close(self) -> None:
        """Close the writer (and with it the database)."""
        with self._lock:
            self._con.close()

    def __enter__(self) -> DuckDBStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reads -------------------------------------------------------------------------------
    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> pa.Table:
        """Run a read query on its own cursor; the result as an Arrow table."""
        cursor = self.reader()
        try:
            result: pa.Table = cursor.sql(sql, params=params).to_arrow_table()
        finally:
            cursor.close()
        return result

    def table(self, name: str) -> pa.Table:
        """A whole table as Arrow (small tables and tests)."""
        return self.query(f"SELECT * FROM {ident(name)}")

    def count(self, name: str) -> int:
        """Rows in a table."""
        return int(self.query(f"SELECT count(*) AS n FROM {ident(name)}").column("n")[0].as_py())

    def pseudonym(self, identifier: str) -> str:
        """The keyed pseudonymous id this store gives ``identifier``."""
        return pseudonym(self._secret, identifier)

    # -- expectations --------------------------------------------------------------------------
    def expectation_versions(self, *, current_only: bool = True) -> list[ExpectationVersion]:
        """Stored expectation versions (only those not superseded, by default), by id."""
        where = "WHERE superseded_at IS NULL" if current_only else ""
        names = ", ".join(f.name for f in fields(ExpectationVersion))
        cursor = self.reader()
        try:
            rows = cursor.execute(f"SELECT {names} FROM expectations {where} ORDER BY id").fetchall()
        finally:
            cursor.close()
        return [ExpectationVersion(*row) for row in rows]

    def record_expectations(
        self, new: Sequence[ExpectationVersion], superseded: Sequence[int], at: dt.datetime
    ) -> None:
        """Supersede versions and append new ones, in one transaction."""
        with self.transaction() as con:
            if superseded:
                con.execute(
                    "UPDATE expectations SET superseded_at = $at WHERE list_contains($ids, id)",
                    {"at": at, "ids": list(superseded)},
                )
            if new:
                names = [f.name for f in fields(ExpectationVersion)]
                rows = [astuple(v) for v in new]
                table = pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)})
                con.register("__gw_new_expectations", table)
                try:
                    con.execute("INSERT INTO expectations BY NAME SELECT * FROM __gw_new_expectations")
                finally:
                    con.unregister("__gw_new_expectations")

    # -- ingest --------------------------------------------------------------------------------
    def prepare_ingest(self, job: IngestJob) -> duckdb_ingest.PreparedIngest:
        """Compile ``job``'s mapping once for all its chunks."""
        return duckdb_ingest.prepare(job)

    def write_chunk(self, prepared: duckdb_ingest.PreparedIngest, chunk: pa.Table) -> IngestCounts:
        """Store one chunk (with its ``__gw_row`` column) in one transaction."""
        now = dt.datetime.now(dt.UTC)
        known = self._known.get(prepared.target)
        defined = prepared.macro in self._macros
        with self.transaction() as con:
            counts = duckdb_ingest.write_chunk(con, prepared, chunk, self._pads, now, known, defined)
        self._macros.add(prepared.macro)  # committed with the chunk (a rollback drops it: defined again)
        if known is not None and known.full:
            self._known[prepared.target] = self._stored_keys(prepared.target)
        return counts

    def prepare_live(self, wal_limit: str = "256MB") -> None:
        """Set the store up for a long-lived owner with many small chunks (the live service).

        * A filter of stored event-id hashes stays in memory, so that dedupe rarely scans the
          store; it costs about 2.5 bytes per stored event (:mod:`gapwatch.adapters.key_filter`).
        * DuckDB checkpoints only once ``wal_limit`` of log has built up: the owner calls
          :meth:`checkpoint` itself, often and when it is idle, so that each checkpoint is short
          instead of one long pause every 16 MB of log inside some request's commit.
        """
        self._known = {table: self._stored_keys(table) for table in ("experiences", "outcomes")}
        with self._lock:
            self._con.execute(f"SET checkpoint_threshold = {lit(wal_limit)}")

    def checkpoint(self) -> bool:
        """Move the write-ahead log into the database file now; False when it must wait (a reader is busy)."""
        with self._lock:
            try:
                self._con.execute("CHECKPOINT")
            except duckdb.TransactionException:
                return False
        return True

    def _stored_keys(self, table: str) -> KeyFilter:
        with self._lock:
            hashes = self._con.sql(f"SELECT key_hash FROM {table}").fetchnumpy()["key_hash"]
        return KeyFilter.of(np.asarray(hashes, dtype=np.uint64))

    def write_malformed(self, job: IngestJob, rows: Sequence[MalformedRow]) -> IngestCounts:
        """Store rows the reader could not split, as rejected (one transaction)."""
        counts = IngestCounts(rejected=len(rows))
        if not rows:
            return counts
        counts.reasons[RejectCode.MALFORMED_ROW.value] = len(rows)
        table = pa.table(
            {
                "row_number": pa.array([r.row_number for r in rows], pa.int64()),
                "text": pa.array([r.text for r in rows], pa.string()),
                "reason": pa.array([r.reason for r in rows], pa.string()),
            }
        )
        now = dt.datetime.now(dt.UTC)
        with self.transaction() as con:
            duckdb_ingest.write_malformed(con, job, table, now)
        return counts
