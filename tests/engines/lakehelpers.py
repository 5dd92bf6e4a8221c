"""Helpers of the engine tests (not a test module): workspaces, hostile files, lake readers."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds

from gapwatch.ingest.lake import ingest_workspace_lake
from gapwatch.ports import Engine
from gapwatch.workspace import Workspace, init_workspace

SOURCES = ("web", "crm", "orders", "usage", "tickets", "survey")
# Columns that differ by design between two runs (the time of the run).
VOLATILE = {"ingested_at", "received"}


def workspace(folder: Path, timezone: str = "UTC") -> Path:
    """A workspace with the built-in template (its source mappings), in ``timezone``."""
    init_workspace(folder)
    config = folder / "gapwatch.yaml"
    text = config.read_text()
    config.write_text(text.replace("timezone: UTC", f"timezone: {timezone}", 1))
    return folder


def ingest(ws_folder: Path, engine: Engine, lake: Path, files: dict[str, Path]) -> dict[str, dict[str, Any]]:
    """Ingest each source's file into ``lake`` on ``engine``; the counts per source."""
    out = {}
    with Workspace.open(ws_folder) as ws:
        for source, path in files.items():
            # "tickets.jsonl": the tickets mapping on another file
            mapping = source.split(".")[0]
            out[source] = ingest_workspace_lake(ws, engine, lake, path, mapping).counts.as_dict()
    return out


def read(lake: Path, table: str) -> pa.Table:
    """A lake table as pyarrow reads it (Hive partitions), stable order, run times left out."""
    folder = lake / table
    if not folder.exists():
        return pa.table({})
    data = ds.dataset(folder, format="parquet", partitioning="hive").to_table()
    keep = [c for c in data.column_names if c not in VOLATILE]
    order = [c for c in ("source", "event_id", "row_number", "reason_code") if c in keep]
    return data.select(keep).sort_by([(c, "ascending") for c in order])


def rows(table: pa.Table) -> list[dict[str, Any]]:
    return table.to_pylist()


def write_csv(path: Path, header: list[str], records: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL)
        writer.writerow(header)
        writer.writerows(records)
    return path


# Cells of a number column: read alike by both engines (numbers, or rejects with the same code).
NUMBERS = [
    "2.5",
    " 3 ",
    "1_000",
    "+-4",
    "1d",
    "1f",
    "0x10",
    "inf",
    "-Infinity",
    "NaN",
    "1e400",
    "1,5",
    "n/a",
    "",
    "  ",
    "-0",
    ".5",
    "5.",
    "1e5",
    "1E+05",
    "00012",
    "١٢",
    "12 h",
    "\t7",
    "3e2_1",
    "1__0",
    "_1",
]
# Cells of a time column: ISO 8601 forms, impossible dates, other layouts.
TIMES = [
    "2025-03-01",
    "2025-3-1",
    "2025-03-01T14:30",
    "2025-03-01 14:30:00",
    "2025-03-01T14:30:00Z",
    "2025-03-01T14:30:00+01:00",
    "2025-03-01T14:30:00+0100",
    "2025-03-01 14:30:00+01",
    "2025-03-01T14:30:00.123456789Z",
    "2025-03-01T14:30:00.5-03:30",
    "2025-03-01 2:3:4",
    "2025-03-01T14:30:00 UTC",
    "2025-02-29",
    "2024-02-29T12:00:00",
    "2025-13-45T10:00:00",
    "31/02/2025 25:61",
    "yesterday",
    "2025",
    "20250301",
    "2025-03-01T14",
    "2025-03-01T14:30:00 +01:00",
    "2025-03-01t14:30:00",
    "2025-03-01T14:30:00z",
    "",
    "2025-03-01T25:00:00",
    "2025-03-01T14:61:00",
]
# Forms DuckDB reads as times and Spark does not (declared gaps, see the xfail test).
EXOTIC_TIMES = [
    "2025-03-01 24:00:00",
    "epoch",
    "infinity",
    "2025-03-01 14:30:00 America/New_York",
    "2025-03-01T14:30:00+25:00",
    # naive times in the summer-time change of the workspace's zone (Europe/Berlin): the hour
    # that does not exist and the hour that exists twice are resolved differently
    "2025-03-30T02:30:00",
    "2025-10-26T02:30:00",
]
