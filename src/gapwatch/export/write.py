"""Writing an export: Parquet (experiences partitioned by period, hive layout) or CSV, streamed.

A partitioned export is a folder ``period=YYYY-MM-DD/part-0.parquet``, which DuckDB
(``read_parquet('out/**/*.parquet', hive_partitioning = true)``), Spark
(``spark.read.parquet('out')``) and pandas (``pd.read_parquet('out')``) read as they are;
every other export is one file. Batches are written as they come, so memory stays at a
batch whatever the size of the table.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from gapwatch.export.tables import KINDS, ExportError

Format = Literal["parquet", "csv"]
MAX_PARTITIONS = 100_000  # days (or weeks) of history


@dataclass(frozen=True, slots=True)
class Written:
    """What an export wrote."""

    what: str
    format: str
    out: str
    rows: int
    files: int
    bytes: int
    partitioned_by: str | None

    def as_dict(self) -> dict[str, object]:
        return {
            "what": self.what,
            "format": self.format,
            "out": self.out,
            "rows": self.rows,
            "files": self.files,
            "bytes": self.bytes,
            "partitioned_by": self.partitioned_by,
        }


def write_export(
    reader: pa.RecordBatchReader, what: str, fmt: Format, out: Path, *, force: bool = False
) -> Written:
    """Write the batches of ``reader`` (an export of ``what``) to ``out``."""
    if out.exists():
        if not force:
            raise ExportError(f"{out} exists; remove it or pass --force to replace it")
        if out.is_dir():
            shutil.rmtree(out)
        else:
            out.unlink()
    partition = KINDS[what].partition if fmt == "parquet" else None
    counted = _Counter(reader)
    stream = pa.RecordBatchReader.from_batches(reader.schema, counted.batches())
    out.parent.mkdir(parents=True, exist_ok=True)
    if partition is not None and partition in reader.schema.names:
        part = pa.schema([reader.schema.field(partition)])
        ds.write_dataset(
            stream,
            out,
            format="parquet",
            partitioning=ds.partitioning(part, flavor="hive"),
            basename_template="part-{i}.parquet",
            max_partitions=MAX_PARTITIONS,
            existing_data_behavior="error",
        )
        files = sorted(p for p in out.rglob("*.parquet"))
    elif fmt == "parquet":
        with pq.ParquetWriter(out, reader.schema) as writer:
            for batch in stream:
                writer.write_batch(batch)
        files = [out]
    else:
        with pacsv.CSVWriter(out, reader.schema) as writer:
            for batch in stream:
                writer.write_batch(batch)
        files = [out]
    return Written(
        what, fmt, str(out), counted.rows, len(files), sum(f.stat().st_size for f in files), partition
    )


class _Counter:
    def __init__(self, reader: pa.RecordBatchReader) -> None:
        self.reader = reader
        self.rows = 0

    def batches(self) -> Iterator[pa.RecordBatch]:
        for batch in self.reader:
            self.rows += batch.num_rows
            yield batch
