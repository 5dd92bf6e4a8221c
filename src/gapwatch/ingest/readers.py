"""Stream a file or a Python table as chunks of raw cells, with row numbers.

Every CSV column is read as text, so a bad cell becomes a rejected row downstream, never a
crash here. Rows the CSV parser cannot split into the header's columns come back as
:class:`MalformedRow`. Row numbers are what a person finds in the file: in CSV the record
number with the header as row 1 (a spreadsheet's row), in JSONL the line number, in
Parquet and Python tables the 1-based position.
"""

from __future__ import annotations

import csv
import gzip
import io
import queue
import threading
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from gapwatch.domain.experience import MalformedRow

ROW = "__gw_row"
LINE = "__gw_line"
BLOCK_BYTES = 16 << 20
FORMATS = ("csv", "parquet", "jsonl")


class UnreadableFile(ValueError):
    """The file cannot be read at all (missing, not the format it claims, no header)."""


@dataclass(slots=True)
class Chunk:
    """Raw cells of consecutive rows (with ``__gw_row``) and the rows that did not parse."""

    table: pa.Table
    malformed: list[MalformedRow] = field(default_factory=list)
    position: int = 0  # bytes or rows consumed so far, for the progress bar


def detect_format(path: Path, declared: str | None = None) -> str:
    """The file's format: the mapping's ``format`` if given, else from the extension."""
    if declared:
        return declared
    name = path.name.lower().removesuffix(".gz")
    for ext, fmt in (
        (".csv", "csv"),
        (".tsv", "csv"),
        (".txt", "csv"),
        (".parquet", "parquet"),
        (".pq", "parquet"),
        (".jsonl", "jsonl"),
        (".ndjson", "jsonl"),
        (".json", "jsonl"),
    ):
        if name.endswith(ext):
            return fmt
    raise UnreadableFile(
        f"{path.name}: cannot tell the format from the extension (use .csv, .csv.gz, "
        ".parquet or .jsonl, or set `format` in the source mapping)"
    )


def _with_rows(table: pa.Table, numbers: np.ndarray[Any, np.dtype[np.int64]]) -> pa.Table:
    return table.append_column(ROW, pa.array(numbers, pa.int64()))


class _Numbering:
    """Record numbers of the valid rows, skipping those the parser reported invalid."""

    def __init__(self, first: int) -> None:
        self.next = first
        self.invalid: list[int] = []

    def take(self, n: int) -> np.ndarray[Any, np.dtype[np.int64]]:
        pending = sorted(x for x in self.invalid if x >= self.next)
        numbers = np.arange(self.next, self.next + n + len(pending), dtype=np.int64)
        if pending:
            numbers = numbers[~np.isin(numbers, pending)]
        numbers = numbers[:n]
        self.next = int(numbers[-1]) + 1 if n else self.next
        return numbers


def _open(path: Path) -> tuple[Any, Any]:
    """(raw file, stream to parse): the raw file's position drives the progress bar."""
    try:
        raw = pa.OSFile(str(path), "rb")
    except OSError as exc:
        raise UnreadableFile(f"{path}: cannot open ({exc})") from exc
    stream = pa.CompressedInputStream(raw, "gzip") if path.name.lower().endswith(".gz") else raw
    return raw, stream


def csv_header(path: Path) -> list[str]:
    """The header's column names (BOM removed)."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader(io.StringIO(handle.readline())), None)
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        raise UnreadableFile(f"{path}: not a readable CSV file ({exc})") from exc
    if not header or not any(h.strip() for h in header):
        raise UnreadableFile(f"{path}: the file is empty or has no header row")
    return header


def read_csv(path: Path, chunk_rows: int) -> tuple[list[str], Iterator[Chunk]]:
    """The header and the chunks of a CSV (or CSV.gz) file, every column as text."""
    names = csv_header(path)
    numbering = _Numbering(first=2)
    bad: list[MalformedRow] = []

    def on_invalid(row: Any) -> str:
        numbering.invalid.append(int(row.number))
        bad.append(
            MalformedRow(
                int(row.number),
                row.text,
                f"the row has {row.actual_columns} fields where the header has {row.expected_columns}",
            )
        )
        return "skip"

    def chunks() -> Iterator[Chunk]:
        raw, stream = _open(path)
        try:
            reader = pcsv.open_csv(
                stream,
                read_options=pcsv.ReadOptions(block_size=BLOCK_BYTES, use_threads=False),
                parse_options=pcsv.ParseOptions(newlines_in_values=True, invalid_row_handler=on_invalid),
                convert_options=pcsv.ConvertOptions(
                    column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False
                ),
            )
            yield from _batched(reader, numbering, bad, raw, chunk_rows)
        except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as exc:
            raise UnreadableFile(f"{path}: not a readable CSV file ({exc})") from exc
        finally:
            raw.close()

    return names, chunks()


def _batched(
    reader: Any, numbering: _Numbering, bad: list[MalformedRow], raw: Any, chunk_rows: int
) -> Iterator[Chunk]:
    """Gather parser batches into chunks of about ``chunk_rows`` rows."""
    pending: list[pa.RecordBatch] = []
    size = 0
    for batch in reader:
        pending.append(batch)
        size += batch.num_rows
        if size >= chunk_rows:
            yield _chunk(pending, numbering, bad, raw)
            pending, size = [], 0
    if pending or bad:
        yield _chunk(pending, numbering, bad, raw, schema=reader.schema)


def _chunk(
    batches: list[pa.RecordBatch],
    numbering: _Numbering,
    bad: list[MalformedRow],
    raw: Any,
    schema: pa.Schema | None = None,
) -> Chunk:
    table = pa.Table.from_batches(batches, schema=schema if not batches else None)
    table = _with_rows(table, numbering.take(table.num_rows))
    malformed = bad[:]
    bad.clear()
    return Chunk(table, malformed, raw.tell())


def read_jsonl(path: Path, chunk_rows: int) -> Iterator[Chunk]:
    """Chunks of raw JSON lines (parsed later, set-wise); blank lines are skipped."""
    numbering = _Numbering(first=1)
    bad: list[MalformedRow] = []

    def on_invalid(row: Any) -> str:
        numbering.invalid.append(int(row.number))
        bad.append(MalformedRow(int(row.number), row.text, "the line holds a control character (0x1E)"))
        return "skip"

    raw, stream = _open(path)
    try:
        reader = pcsv.open_csv(
            stream,
            read_options=pcsv.ReadOptions(block_size=BLOCK_BYTES, use_threads=False, column_names=[LINE]),
            parse_options=pcsv.ParseOptions(
                delimiter="\x1e",
                quote_char=False,
                escape_char=False,
                ignore_empty_lines=False,
                invalid_row_handler=on_invalid,
            ),
            convert_options=pcsv.ConvertOptions(column_types={LINE: pa.string()}, strings_can_be_null=False),
        )
        for chunk in _batched(reader, numbering, bad, raw, chunk_rows):
            blank = pc.equal(pc.utf8_trim_whitespace(chunk.table.column(LINE)), "")
            chunk.table = chunk.table.filter(pc.invert(blank))
            yield chunk
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as exc:
        raise UnreadableFile(f"{path}: not a readable JSONL file ({exc})") from exc
    finally:
        raw.close()


def read_parquet(path: Path, chunk_rows: int) -> tuple[list[str], Iterator[Chunk]]:
    """The columns and the chunks of a Parquet file (typed columns are cast in SQL)."""
    try:
        parquet = pq.ParquetFile(str(path))
    except (pa.ArrowInvalid, OSError) as exc:
        raise UnreadableFile(f"{path}: not a readable Parquet file ({exc})") from exc

    def chunks() -> Iterator[Chunk]:
        done = 0
        for batch in parquet.iter_batches(batch_size=chunk_rows):
            numbers = np.arange(done + 1, done + batch.num_rows + 1, dtype=np.int64)
            done += batch.num_rows
            yield Chunk(_with_rows(pa.Table.from_batches([batch]), numbers), [], done)

    return list(parquet.schema_arrow.names), chunks()


def as_arrow(table: Any) -> pa.Table:
    """A pandas, Polars or Arrow table (or record batch / reader) as an Arrow table."""
    if isinstance(table, pa.Table):
        return table
    if isinstance(table, pa.RecordBatch):
        return pa.Table.from_batches([table])
    if isinstance(table, pa.RecordBatchReader):
        return table.read_all()
    module = type(table).__module__.split(".")[0]
    if module == "polars":
        arrow: pa.Table = table.to_arrow()
        return arrow
    if module == "pandas":
        return pa.Table.from_pandas(table, preserve_index=False)
    if hasattr(table, "__arrow_c_stream__"):
        return pa.table(table)
    raise TypeError(f"cannot ingest a {type(table).__name__}: give a pandas, Polars or Arrow table")


def table_chunks(table: pa.Table, chunk_rows: int) -> Iterator[Chunk]:
    """Slices of an in-memory table with 1-based row positions."""
    for start in range(0, max(table.num_rows, 1), chunk_rows):
        part = table.slice(start, chunk_rows)
        numbers = np.arange(start + 1, start + part.num_rows + 1, dtype=np.int64)
        yield Chunk(_with_rows(part, numbers), [], start + part.num_rows)


def read_ahead(chunks: Iterator[Chunk], depth: int = 1) -> Generator[Chunk, None, None]:
    """Yield ``chunks`` while a thread already parses the next ``depth`` of them.

    Parsing (Arrow, which releases the GIL) then overlaps the store's work on the current
    chunk instead of following it. Memory grows by ``depth`` chunks. An error of the reader
    is raised here, at the chunk where it happened; closing this generator stops the thread.
    """
    box: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                box.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for chunk in chunks:
                if not put(("chunk", chunk)):
                    return
            put(("done", None))
        except BaseException as exc:  # handed to the consumer, raised there
            put(("error", exc))
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name="gapwatch-ingest-reader", daemon=True)
    worker.start()
    try:
        while True:
            kind, item = box.get()
            if kind == "done":
                return
            if kind == "error":
                raise item
            yield item
    finally:
        stop.set()
        worker.join()
