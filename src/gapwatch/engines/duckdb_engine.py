"""The embedded engine: gapwatch's SQL on its own DuckDB connection (the default).

Used for a lake (``gapwatch ingest --lake``, ``gapwatch detect --lake``) and, wrapping the
store's reader, wherever the monitor reads events. Relations are temp tables and views of
one connection, in the workspace time zone; a memory limit and a spill folder bound it.
"""

from __future__ import annotations

import contextlib
import tempfile
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from gapwatch.adapters.duckdb_sql import ident, lit

__all__ = ["DuckDBEngine"]


class DuckDBEngine:
    """DuckDB behind the :class:`~gapwatch.ports.Engine` interface.

    Examples
    --------
    >>> import pyarrow as pa
    >>> with DuckDBEngine() as engine:
    ...     engine.load_arrow("t", pa.table({"x": [1, 2, 3]}))
    ...     engine.fetch("SELECT sum(x) AS s FROM t WHERE x > $lo", {"lo": 1}).to_pylist()
    [{'s': 5}]
    """

    name = "duckdb"

    def __init__(
        self,
        con: Any = None,
        *,
        timezone: str = "UTC",
        memory_limit: str | None = "1GB",
        threads: int | None = None,
    ) -> None:
        self.timezone = timezone
        self._own = con is None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if con is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="gapwatch-duckdb-")
            con = duckdb.connect()
            con.execute(f"SET temp_directory = {lit(self._tmp.name)}")
            if memory_limit:
                con.execute(f"SET memory_limit = {lit(memory_limit)}")
            if threads:
                con.execute(f"SET threads = {int(threads)}")
            con.execute("SET preserve_insertion_order = false")
            con.execute(f"SET TimeZone = {lit(timezone)}")
        self.con = con
        self._registered: set[str] = set()

    # -- relations ---------------------------------------------------------------------------
    def read_input(self, name: str, path: Path, fmt: str, chunks: Iterable[pa.Table]) -> list[str]:
        """Gather the reader's chunks into a temp table (spilled to disk past the memory limit)."""
        del path, fmt  # read by gapwatch's own reader: the same rows as the store's ingest
        columns: list[str] = []
        first = True
        for chunk in chunks:
            self.con.register("__gw_input_chunk", chunk)
            try:
                if first:
                    self.con.execute(f"CREATE OR REPLACE TEMP TABLE {ident(name)} AS FROM __gw_input_chunk")
                    columns = [c for c in chunk.column_names if c != "__gw_row"]
                    first = False
                else:
                    self.con.execute(f"INSERT INTO {ident(name)} BY NAME FROM __gw_input_chunk")
            finally:
                self.con.unregister("__gw_input_chunk")
        return columns

    def load_arrow(self, name: str, table: pa.Table) -> None:
        self.con.register(name, table)
        self._registered.add(name)

    def load_parquet(self, name: str, folder: Path, schema: pa.Schema) -> None:
        if not any(folder.glob("**/*.parquet")):
            self.load_arrow(name, schema.empty_table())
            return
        pattern = lit(str(folder / "**" / "*.parquet"))
        self.con.execute(
            f"CREATE OR REPLACE TEMP VIEW {ident(name)} AS SELECT * FROM "
            f"read_parquet({pattern}, hive_partitioning = true, union_by_name = true)"
        )

    def create(
        self, name: str, sql: str, params: Mapping[str, Any] | None = None, *, materialise: bool = True
    ) -> None:
        del materialise  # a DuckDB view cannot hold bound parameters: always a temp table
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {ident(name)} AS {sql}", dict(params or {}))

    # -- results -----------------------------------------------------------------------------
    def fetch(self, sql: str, params: Mapping[str, Any] | None = None) -> pa.Table:
        table: pa.Table = self.con.sql(sql, params=dict(params or {})).to_arrow_table()
        return table

    def write_parquet(self, sql: str, folder: Path, partition: str) -> None:
        """Append with a file name of its own per run, so a re-run never overwrites a file."""
        folder.mkdir(parents=True, exist_ok=True)
        pattern = lit("part-{uuid}")
        self.con.execute(
            f"COPY ({sql}) TO {lit(str(folder))} (FORMAT parquet, PARTITION_BY ({ident(partition)}), "
            f"APPEND, FILENAME_PATTERN {pattern})"
        )

    def ibis_table(self, name: str) -> Any:
        import ibis

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", r"fetch_arrow_table\(\) is deprecated", DeprecationWarning)
            return ibis.duckdb.from_connection(self.con).table(name)

    def run_ibis(self, expr: Any) -> pa.Table:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", r"fetch_arrow_table\(\) is deprecated", DeprecationWarning)
            table: pa.Table = expr.to_pyarrow()
        return table

    def drop(self, *names: str) -> None:
        for name in names:
            if name in self._registered:
                self.con.unregister(name)
                self._registered.discard(name)
                continue
            for kind in ("VIEW", "TABLE"):
                with contextlib.suppress(duckdb.Error):
                    self.con.execute(f"DROP {kind} IF EXISTS {ident(name)}")

    def close(self) -> None:
        if self._own:
            self.con.close()
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> DuckDBEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
