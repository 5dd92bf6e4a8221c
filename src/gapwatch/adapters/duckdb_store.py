"""The embedded store: one DuckDB file per workspace (or ``:memory:`` for tests).

All writes go through one writer connection, guarded by a lock, each in its own
transaction; readers get their own cursors. Writes are Arrow batches, never rows. The
connection's time zone is the workspace's, so naive timestamps are read in it and a
``TIMESTAMPTZ`` cast to ``DATE`` is the local day (the period).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import astuple, fields
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from gapwatch.adapters import duckdb_collect, duckdb_ingest, duckdb_maintenance
from gapwatch.adapters.duckdb_schema import MIGRATIONS, SCHEMA
from gapwatch.adapters.duckdb_sql import CANARY, PAYLOAD, hash64, hmac_pads, ident, lit
from gapwatch.adapters.key_filter import KeyFilter
from gapwatch.domain.bounds import EventWindow, IdCase
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
        self._settings = [
            f"SET TimeZone = {lit(timezone)}",
            # DuckDB sizes its thread pool by the machine's cores, not the ones this process may run
            # on: pinned to one core (taskset, a CPU-limited container) extra threads only contend.
            f"SET threads = {_usable_cores()}",
            # Tables here carry no meaningful row order; letting DuckDB drop it parallelises inserts.
            "SET preserve_insertion_order = false",
        ]
        if memory_limit:
            self._settings.append(f"SET memory_limit = {lit(memory_limit)}")
        self._readers: weakref.WeakSet[Any] = weakref.WeakSet()  # read cursors not yet released
        self._gate = threading.Condition()  # new readers wait while the file is replaced
        self._compacting = False
        self._started: dt.datetime | None = None
        self._con = self._connect()
        if not read_only:
            self._con.execute(SCHEMA)
            self._migrate()
            self._check_hash_canary()
            self._record_start()
            self.protect()

    def _connect(self) -> duckdb.DuckDBPyConnection:
        try:
            con = duckdb.connect(self.path, read_only=self.read_only)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise StoreLocked(str(exc)) from exc
            raise
        for statement in self._settings:
            con.execute(statement)
        return con

    def _migrate(self) -> None:
        """Add the columns a store made by an older version lacks (:data:`MIGRATIONS`)."""
        have = {
            (t, c)
            for t, c in self._con.execute(
                "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'main'"
            ).fetchall()
        }
        for table, column, statements in MIGRATIONS:
            if (table, column) not in have:
                for sql in statements:
                    self._con.execute(sql)

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
                con.execute(f"UPDATE behaviour SET key_hash = {hash64('message_id')}")
            con.execute("INSERT OR REPLACE INTO gapwatch_meta VALUES ('hash_canary', $v)", {"v": now})

    def _record_start(self) -> None:
        """Keep when the workspace started (the event-time window's history counts from it).

        A store from before this was recorded starts at its earliest ingest.
        """
        self._con.execute(
            "INSERT OR IGNORE INTO gapwatch_meta SELECT 'started_at', strftime(least(now(), "
            "(SELECT min(ingested_at) FROM experiences), (SELECT min(ingested_at) FROM outcomes)) "
            "AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S+00:00')"
        )

    def started_at(self) -> dt.datetime:
        """When the workspace started (its store was created), in UTC."""
        if self._started is None:
            sql = "SELECT value FROM gapwatch_meta WHERE key = 'started_at'"
            found = self.query(sql).column("value").to_pylist()
            self._started = dt.datetime.fromisoformat(found[0]) if found else dt.datetime.now(dt.UTC)
        return self._started

    def repair_window(self, window: EventWindow) -> dict[str, int]:
        """Move stored rows outside the accepted event-time ``window`` to ``rejected`` (one transaction).

        Returns the rows moved per table (empty when the store was clean, the usual case).
        """
        now = dt.datetime.now(dt.UTC)
        with self.transaction() as con:
            return duckdb_maintenance.repair_window(con, window.earliest, window.latest, now)

    def compact(self, wait_for_readers: float = 10.0) -> float:
        """Rewrite the database file with only its live rows; returns the seconds it took.

        Deleted and overwritten values stay in a DuckDB file's free blocks until the file is
        rewritten; this is how an erasure ends (:mod:`gapwatch.adapters.duckdb_maintenance`).
        New readers wait meanwhile; open ones get ``wait_for_readers`` seconds to finish. A
        store in memory has no file: nothing to do.
        """
        if self.path == MEMORY or self.read_only:
            return 0.0
        started = time.perf_counter()
        with self._lock:
            with self._gate:
                self._compacting = True
                deadline = time.monotonic() + wait_for_readers
                while len(self._readers) and time.monotonic() < deadline:
                    self._gate.wait(0.02)
            try:
                self._rewrite()
            finally:
                with self._gate:
                    self._compacting = False
                    self._gate.notify_all()
        return time.perf_counter() - started

    def _rewrite(self) -> None:
        path = Path(self.path)
        for attempt in range(50):  # a checkpoint waits for running reads
            try:
                self._con.execute("CHECKPOINT" if attempt < 49 else "FORCE CHECKPOINT")
                break
            except duckdb.TransactionException:
                time.sleep(0.02)
        side = duckdb_maintenance.copy_database(self._con, path)
        self._con.close()
        try:
            duckdb_maintenance.replace_file(side, path)
        finally:
            self._con = self._connect()
            self._macros = set()  # temporary macros lived on the old connection
        self.protect()

    def files(self) -> list[Path]:
        """The store's files on disk (none for ``:memory:``)."""
        if self.path == MEMORY:
            return []
        base = Path(self.path)
        return [f for f in (base, base.with_name(base.name + ".wal")) if f.exists()]

    def protect(self) -> None:
        """Make the store's files readable by their owner only (mode 0600).

        DuckDB creates them with the process umask (the CLI sets 077, so they are born 0600;
        a library caller's process may not), and recreates the write-ahead log after every
        checkpoint: this runs at open and after each checkpoint.
        """
        for f in self.files():
            with contextlib.suppress(OSError):
                if f.stat().st_mode & 0o077:
                    f.chmod(0o600)

    # -- connections -------------------------------------------------------------------------
    def reader(self) -> duckdb.DuckDBPyConnection:
        """A new read connection to the same database, in the workspace time zone."""
        with self._gate:
            while self._compacting:
                self._gate.wait()
            cursor = self._con.cursor()
            self._readers.add(cursor)
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
        self._known = {table: self._stored_keys(table) for table in ("experiences", "outcomes", "behaviour")}
        setting = f"SET checkpoint_threshold = {lit(wal_limit)}"
        self._settings.append(setting)  # (again on the connection a compaction opens)
        with self._lock:
            self._con.execute(setting)

    def checkpoint(self) -> bool:
        """Move the write-ahead log into the database file now; False when it must wait (a reader is busy)."""
        with self._lock:
            try:
                self._con.execute("CHECKPOINT")
            except duckdb.TransactionException:
                return False
        self.protect()
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

    # -- collect: tracking messages and webhooks ----------------------------------------------------
    def erased_ids(self, ids: pa.Table, id_case: IdCase = "lower") -> list[tuple[str, str]]:
        """The (raw id, kind) pairs of ``ids`` (columns raw, kind) whose customer was erased."""
        with self.transaction() as con:
            return duckdb_collect.erased_ids(con, ids, self._pads, id_case)

    def write_collected(
        self,
        source: str,
        behaviour: pa.Table,
        links: pa.Table,
        rejects: pa.Table,
        file: str,
        id_case: IdCase = "lower",
    ) -> pa.Table:
        """Store behaviour rows, identity links and rejected messages in one transaction.

        Returns ``(pos, status)`` per behaviour row (``accepted`` or ``duplicate``); see
        :mod:`gapwatch.adapters.duckdb_collect`.
        """
        now = dt.datetime.now(dt.UTC)
        known = self._known.get("behaviour")
        with self.transaction() as con:
            statuses = duckdb_collect.write_collected(
                con, source, behaviour, links, rejects, self._pads, now, file, known, id_case
            )
        if known is not None and known.full:
            self._known["behaviour"] = self._stored_keys("behaviour")
        return statuses
