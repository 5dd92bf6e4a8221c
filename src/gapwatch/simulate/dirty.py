"""Realistic bad rows for ingest tests: added on top of the clean rows, each one recorded.

Kinds: ``missing_customer`` (no customer nor visitor id), ``unknown_moment`` (an activity type
or page type the mapping does not know), ``bad_timestamp``, ``text_in_number`` (words in a numeric
column) and ``duplicate`` (an exact copy: a duplicate for ingest, not a rejection). The clean rows
stay untouched, so the truth about experiences holds whatever the fraction.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from gapwatch.config.schema import Source

KINDS = ("missing_customer", "unknown_moment", "bad_timestamp", "text_in_number", "duplicate")
BAD_TIMES = ("31/02/2025 25:61", "yesterday", "2025-13-45T10:00:00", "not a date")
BAD_NUMBERS = ("n/a", "fast", "12,5 h", "two days", "?")
UNKNOWN_LABELS = ("Webinar", "careers", "Partner Lunch", "unknown")


def kinds_for(source: Source) -> list[str]:
    """The kinds that make sense for a source's layout."""
    kinds = ["missing_customer", "bad_timestamp", "text_in_number", "duplicate"]
    if source.moment is not None and source.moment.column:
        kinds.insert(1, "unknown_moment")
    return kinds


def inject(
    rng: np.random.Generator, name: str, table: pa.Table, source: Source, fraction: float
) -> tuple[pa.Table, list[dict[str, Any]]]:
    """Add ``fraction`` x rows bad rows at random places; return the new table and what was added."""
    count = round(fraction * table.num_rows)
    if count == 0 or table.num_rows == 0:
        return table, []
    kinds = kinds_for(source)
    picked = rng.integers(0, table.num_rows, count)
    clean = table.cast(pa.schema([pa.field(f.name, pa.string()) for f in table.schema]))
    rows = clean.take(pa.array(picked)).to_pylist()
    id_column = source.event_id[0]
    labels = [kinds[i % len(kinds)] for i in range(count)]
    for n, (row, kind) in enumerate(zip(rows, labels, strict=True)):
        _spoil(rng, row, kind, source, n)
    bad = pa.Table.from_pylist(rows, schema=clean.schema)
    keys = np.r_[np.arange(table.num_rows, dtype=float), rng.uniform(0, table.num_rows, count) + 0.5]
    order = np.argsort(keys, kind="stable")
    where = np.empty(order.size, dtype=np.int64)
    where[order] = np.arange(order.size)
    combined = pa.concat_tables([clean, bad]).take(pa.array(order))
    record = [
        {
            "source": name,
            "row": int(where[table.num_rows + n]) + 1,
            "kind": kind,
            "event_id": rows[n][id_column],
        }
        for n, kind in enumerate(labels)
    ]
    return combined, sorted(record, key=lambda r: r["row"])


def _spoil(rng: np.random.Generator, row: dict[str, Any], kind: str, source: Source, n: int) -> None:
    id_column = source.event_id[0]
    if kind != "duplicate":
        row[id_column] = f"{row[id_column]}-x{n}"
    if kind == "missing_customer":
        for spec in (source.customer_id, source.anonymous_id):
            if spec is not None and spec.column:
                row[spec.column] = None
    elif kind == "unknown_moment" and source.moment is not None and source.moment.column:
        row[source.moment.column] = str(rng.choice(UNKNOWN_LABELS))
    elif kind == "bad_timestamp" and source.occurred_at.column:
        row[source.occurred_at.column] = str(rng.choice(BAD_TIMES))
    elif kind == "text_in_number":
        column = _numeric_column(row, source)
        if column is not None:
            row[column] = str(rng.choice(BAD_NUMBERS))


def _numeric_column(row: dict[str, Any], source: Source) -> str | None:
    """The first experience value column that holds a number in this row."""
    for entry in source.experiences:
        column = entry.value.column
        if column and row.get(column) not in (None, ""):
            return column
    return None
