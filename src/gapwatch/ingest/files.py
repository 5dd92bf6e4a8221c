"""Ingest: files and Python tables become scored experiences, or rejected rows with reasons.

One path for every input (DESIGN.md, "One path for data"): a reader streams chunks of raw
cells; the store maps, validates, pseudonymises, scores and dedupes each chunk set-wise
in one transaction. Counts are of experiences and always satisfy
``received == accepted + duplicate + rejected``.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gapwatch.config.schema import Source, WorkspaceConfig
from gapwatch.domain.experience import IngestCounts, IngestJob, Layout, Vocabulary
from gapwatch.expectations import sync_expectations
from gapwatch.ingest import readers
from gapwatch.ingest.progress import progress_bar
from gapwatch.ports import Store

if TYPE_CHECKING:
    from gapwatch.workspace import Workspace

CHUNK_ROWS = 500_000


class IngestError(ValueError):
    """The input cannot be used at all: nothing was written.

    ``exit_code`` is 2 for a usage problem (an unknown source) and 1 for an unusable file.
    """

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(slots=True)
class IngestResult:
    """What an ingest did: counts of experiences, and where they came from."""

    source: str
    file: str
    counts: IngestCounts = field(default_factory=IngestCounts)
    seconds: float = 0.0

    @property
    def accepted(self) -> int:
        return self.counts.accepted

    @property
    def duplicate(self) -> int:
        return self.counts.duplicate

    @property
    def rejected(self) -> int:
        return self.counts.rejected

    def summary(self) -> str:
        """The one-line human summary."""
        c = self.counts
        return f"{c.accepted:,} accepted / {c.duplicate:,} duplicate / {c.rejected:,} rejected"

    def as_dict(self) -> dict[str, Any]:
        """Counts first (``accepted``, ``duplicate``, ``rejected``), then details."""
        return {
            **self.counts.as_dict(),
            "source": self.source,
            "file": self.file,
            "seconds": round(self.seconds, 3),
        }


def _resolve(target: Workspace | Store, config: WorkspaceConfig | None) -> tuple[Store, WorkspaceConfig]:
    store = getattr(target, "store", None)
    if store is not None and config is None:
        return store, target.config  # type: ignore[union-attr]
    if store is not None:
        return store, config  # type: ignore[return-value]
    if config is None:
        from gapwatch.config import default_config

        config = default_config()
    return target, config  # type: ignore[return-value]


def _source(config: WorkspaceConfig, name: str | Source) -> tuple[str, Source]:
    if isinstance(name, Source):
        return "custom", name
    if name not in config.sources:
        known = ", ".join(sorted(config.sources)) or "none"
        raise IngestError(f"unknown source {name!r} (gapwatch.yaml declares: {known})", exit_code=2)
    return name, config.sources[name]


def _check_columns(job: IngestJob, columns: Iterable[str]) -> None:
    """A mapped column absent from the file makes the file unusable for this mapping."""
    from gapwatch.adapters.duckdb_mapping import mapped_columns

    have = set(columns)
    missing = [c for c in mapped_columns(job) if c not in have]
    if missing:
        cols = ", ".join(repr(c) for c in missing)
        raise IngestError(
            f"{job.file}: the source mapping {job.source_name!r} reads column(s) {cols}, "
            f"which the file does not have (it has: {', '.join(sorted(have)) or 'none'})"
        )


def _run(
    store: Store,
    config: WorkspaceConfig,
    job: IngestJob,
    chunks: Iterator[readers.Chunk],
    total: int,
    show_progress: bool,
) -> IngestResult:
    started = time.perf_counter()
    if not getattr(store, "read_only", False):
        sync_expectations(store, config)
    prepared = store.prepare_ingest(job)
    result = IngestResult(job.source_name, job.file)
    with progress_bar(job.file, total, show_progress) as advance:
        try:
            for chunk in readers.read_ahead(chunks):
                if chunk.malformed:
                    result.counts.add(store.write_malformed(job, chunk.malformed))
                if chunk.table.num_rows:
                    result.counts.add(store.write_chunk(prepared, chunk.table))
                advance(chunk.position, result.counts.received)
        except readers.UnreadableFile as exc:
            raise IngestError(str(exc)) from exc
    result.seconds = time.perf_counter() - started
    return result


def ingest_file(
    target: Workspace | Store,
    path: str | Path,
    source: str | Source,
    *,
    config: WorkspaceConfig | None = None,
    chunk_rows: int = CHUNK_ROWS,
    progress: bool = False,
    closed_through: dt.date | None = None,
) -> IngestResult:
    """Ingest one file (CSV, CSV.gz, Parquet or JSONL) with a source mapping.

    Parameters
    ----------
    target
        A :class:`~gapwatch.workspace.Workspace`, or a store (then ``config`` gives the
        mapping and vocabulary; the default template when omitted).
    path
        The file; its format comes from the mapping's ``format`` or the extension.
    source
        The name of a source mapping in ``gapwatch.yaml`` (or a :class:`Source`).
    chunk_rows
        Rows per chunk; each chunk is one transaction.
    progress
        Show a progress bar on stderr.
    closed_through
        Last period the monitor has closed: older experiences are stored flagged late.

    Returns
    -------
    IngestResult
        Counts of experiences: accepted, duplicate, rejected (with reasons).

    Raises
    ------
    IngestError
        When the file cannot be used at all (missing, unreadable, a mapped column absent,
        unknown source); nothing is written then.
    """
    store, config = _resolve(target, config)
    name, mapping = _source(config, source)
    file = Path(path)
    if not file.is_file():
        raise IngestError(f"{file}: no such file")
    try:
        fmt = readers.detect_format(file, mapping.format)
        layout: Layout = "jsonl" if fmt == "jsonl" else "columns"
        job = IngestJob(name, mapping, Vocabulary.from_config(config), file.name, layout, closed_through)
        if fmt == "csv":
            columns, chunks = readers.read_csv(file, chunk_rows)
            _check_columns(job, columns)
        elif fmt == "parquet":
            columns, chunks = readers.read_parquet(file, chunk_rows)
            _check_columns(job, columns)
        else:
            chunks = readers.read_jsonl(file, chunk_rows)
    except readers.UnreadableFile as exc:
        raise IngestError(str(exc)) from exc
    total = file.stat().st_size if fmt != "parquet" else _parquet_rows(file)
    return _run(store, config, job, chunks, total, progress)


def _parquet_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(str(path)).metadata.num_rows)


def ingest_table(
    target: Workspace | Store,
    table: Any,
    source: str | Source,
    *,
    config: WorkspaceConfig | None = None,
    chunk_rows: int = CHUNK_ROWS,
    label: str = "<table>",
    closed_through: dt.date | None = None,
) -> IngestResult:
    """Ingest a pandas, Polars or Arrow table with a source mapping (same rules as files).

    Examples
    --------
    >>> import pyarrow as pa
    >>> from gapwatch.adapters.duckdb_store import DuckDBStore
    >>> rows = pa.table({"order_no": ["A1"], "cust_no": ["C1"], "delivered_at": ["2025-03-01T10:00:00Z"],
    ...                  "customer_tier": ["STD"], "delivery_days": ["6"], "promised_days": [""],
    ...                  "carrier": ["DHL"], "region": ["north"], "ordered_at": ["2025-02-23"]})
    >>> with DuckDBStore() as store:
    ...     ingest_table(store, rows, "orders").summary()
    '1 accepted / 0 duplicate / 0 rejected'
    """
    store, config = _resolve(target, config)
    name, mapping = _source(config, source)
    try:
        arrow = readers.as_arrow(table)
    except TypeError as exc:
        raise IngestError(str(exc), exit_code=2) from exc
    job = IngestJob(name, mapping, Vocabulary.from_config(config), label, "columns", closed_through)
    _check_columns(job, arrow.column_names)
    return _run(store, config, job, readers.table_chunks(arrow, chunk_rows), arrow.num_rows, False)
