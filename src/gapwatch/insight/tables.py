"""Flat survey files: one row per respondent, ratings as columns, an outcome column.

A file (CSV, CSV.gz or Parquet) is read with every CSV cell as text and typed here, column
by column, so a stray word in a numeric column costs that cell (it becomes missing) instead
of the whole file, and the same rules type a CSV and a Parquet file. A column is

- **numeric** when at least 95 % of its filled cells are numbers (booleans count as 0/1);
- **datetime** when at least 95 % parse as ISO 8601 dates or times (kept as days since 1970);
- **ignored** when it cannot inform a model: empty, constant, identifier-like (an id-like
  name with many values, or a distinct value in almost every row) or free text;
- **categorical** otherwise.

The reasons for ignoring a column are kept, so a face can report them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

__all__ = ["FlatTable", "TableError", "TypedColumn", "parse_dates", "read_flat", "type_columns"]

Kind = Literal["numeric", "categorical", "datetime", "text", "ignored"]
Floats = npt.NDArray[np.float64]

MAX_COLUMNS = 5_000
MAX_BYTES = 2 << 30  # a flat survey export larger than 2 GiB is not a survey export
SHARE = 0.95  # share of filled cells that must parse for a column to take a type
NUMBER = r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"
ID_NAME = re.compile(r"(^|[\s_.-])(id|ids|uuid|guid|key|index|idx)$|^unnamed: ?\d+$|[a-z](Id|ID)$", re.I)
DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d")


class TableError(ValueError):
    """The file cannot be used (missing, unreadable, too large, no rows)."""


@dataclass(frozen=True, slots=True)
class TypedColumn:
    """One typed column: numbers (NaN = missing) or labels (None = missing)."""

    name: str
    kind: Kind
    numbers: Floats | None = None
    labels: list[str | None] | None = None
    reason: str | None = None  # why ignored, or a note (cells that did not parse)


@dataclass(slots=True)
class FlatTable:
    """A read file: its columns as Arrow text or native arrays, and its row count."""

    path: str
    table: pa.Table
    notes: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return int(self.table.num_rows)

    @property
    def names(self) -> list[str]:
        return list(self.table.column_names)


def read_flat(path: Path) -> FlatTable:
    """Read a CSV, CSV.gz or Parquet file; CSV cells stay text (typed by :func:`type_columns`)."""
    if not path.is_file():
        raise TableError(f"{path}: no such file")
    if path.stat().st_size > MAX_BYTES:
        raise TableError(f"{path}: larger than {MAX_BYTES >> 30} GiB")
    name = path.name.lower()
    try:
        if name.endswith((".parquet", ".pq")):
            table = pq.read_table(path)
        elif name.endswith((".csv", ".csv.gz", ".tsv", ".tsv.gz", ".txt", ".txt.gz")):
            table = _read_csv(path, "\t" if ".tsv" in name else ",")
        else:
            raise TableError(f"{path}: unknown format (use .csv, .csv.gz or .parquet)")
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise TableError(f"{path}: cannot read the file ({first})") from None
    if table.num_columns > MAX_COLUMNS:
        raise TableError(f"{path}: {table.num_columns} columns (at most {MAX_COLUMNS})")
    _check_names(path, table.column_names)
    return FlatTable(str(path), table)


def _read_csv(path: Path, delimiter: str) -> pa.Table:
    header = pcsv.open_csv(path, parse_options=pcsv.ParseOptions(delimiter=delimiter))
    names = header.schema.names
    header.close()
    convert = pcsv.ConvertOptions(
        column_types=dict.fromkeys(names, pa.string()),
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
    )
    return pcsv.read_csv(path, parse_options=pcsv.ParseOptions(delimiter=delimiter), convert_options=convert)


def _check_names(path: Path, names: list[str]) -> None:
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise TableError(f"{path}: column {n!r} appears twice")
        seen.add(n)


def type_columns(table: pa.Table, skip: tuple[str, ...] = ()) -> list[TypedColumn]:
    """Type every column of ``table`` except those in ``skip`` (the outcome)."""
    n = table.num_rows
    return [_type(name, table.column(name), n) for name in table.column_names if name not in skip]


def _type(name: str, column: pa.ChunkedArray, n: int) -> TypedColumn:
    arr = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    if pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    if pa.types.is_boolean(arr.type) or pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type):
        return _numeric(name, _floats(arr), n, 0)
    if pa.types.is_timestamp(arr.type) or pa.types.is_date(arr.type):
        return _datetime(name, _days(arr), 0)
    if pa.types.is_decimal(arr.type):
        return _numeric(name, _floats(arr.cast(pa.float64())), n, 0)
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return TypedColumn(name, "ignored", reason=f"unsupported type {arr.type}")
    return _text_column(name, arr, n)


def _text_column(name: str, arr: pa.Array, n: int) -> TypedColumn:
    text = pc.utf8_trim_whitespace(arr.cast(pa.string()))
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
    filled = len(text) - text.null_count
    if filled == 0:
        return TypedColumn(name, "ignored", reason="empty")
    is_number = pc.fill_null(pc.match_substring_regex(text, NUMBER), False)
    good = int(pc.sum(is_number).as_py() or 0)
    if good >= SHARE * filled:
        numbers = pc.cast(pc.if_else(is_number, text, pa.scalar(None, pa.string())), pa.float64())
        return _numeric(name, _floats(numbers), n, filled - good)
    stamps = parse_dates(text)
    parsed = len(stamps) - stamps.null_count
    if parsed >= SHARE * filled:
        return _datetime(name, _days(stamps), filled - parsed)
    labels: list[str | None] = text.to_pylist()
    return _labels(name, labels, n, filled)


def parse_dates(text: pa.Array) -> pa.Array:
    # Fractions of a second and an offset are dropped: days are the unit, and a flat export
    # writes all its times in one zone.
    core = pc.replace_substring_regex(text, r"(\.\d+)?(Z|[+-]\d\d:?\d\d)?$", "")
    out = pa.nulls(len(text), pa.timestamp("s"))
    for fmt in DATE_FORMATS:
        out = pc.coalesce(out, pc.strptime(core, format=fmt, unit="s", error_is_null=True))
    return out


def _numeric(name: str, values: Floats, n: int, bad: int) -> TypedColumn:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return TypedColumn(name, "ignored", reason="empty")
    if np.unique(finite).size == 1:
        return TypedColumn(name, "ignored", reason="constant")
    why = _id_like_numbers(name, finite, n)
    if why:
        return TypedColumn(name, "ignored", reason=f"identifier-like ({why})")
    note = f"{bad} cell(s) not a number, read as missing" if bad else None
    values = np.where(np.isfinite(values), values, np.nan)
    return TypedColumn(name, "numeric", numbers=values, reason=note)


def _id_like_numbers(name: str, finite: Floats, n: int) -> str | None:
    whole = bool(np.all(finite == np.round(finite)))
    distinct = np.unique(finite).size
    if ID_NAME.search(name) and whole and distinct > min(20, n // 2):
        return "name and many distinct whole numbers"
    # a row counter or a surrogate key: whole numbers, distinct in (almost) every row
    if whole and distinct >= 0.98 * n and n >= 50:
        return "a distinct whole number per row"
    return None


def _datetime(name: str, days: Floats, bad: int) -> TypedColumn:
    finite = days[np.isfinite(days)]
    if finite.size == 0 or np.unique(finite).size == 1:
        return TypedColumn(name, "ignored", reason="empty" if finite.size == 0 else "constant")
    note = f"{bad} cell(s) not a date, read as missing" if bad else None
    return TypedColumn(name, "datetime", numbers=days, reason=note)


def _labels(name: str, labels: list[str | None], n: int, filled: int) -> TypedColumn:
    distinct = len({v for v in labels if v is not None})
    if distinct == 1:
        return TypedColumn(name, "ignored", reason="constant")
    lengths = [len(v) for v in labels if v is not None]
    spaces = sum(1 for v in labels if v is not None and " " in v)
    if distinct > 50 and float(np.mean(lengths)) > 25 and spaces > 0.5 * filled:
        return TypedColumn(name, "text", labels=labels, reason="free text")
    if ID_NAME.search(name) and distinct > min(20, n // 2):
        return TypedColumn(name, "ignored", reason="identifier-like (name and many distinct values)")
    if distinct >= 0.9 * filled and filled >= 20:
        return TypedColumn(name, "ignored", reason="identifier-like (a distinct value in almost every row)")
    return TypedColumn(name, "categorical", labels=labels)


def _floats(arr: pa.Array) -> Floats:
    if pa.types.is_boolean(arr.type):
        arr = arr.cast(pa.int8())
    out: Floats = np.asarray(arr.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)
    return out


def _days(arr: pa.Array) -> Floats:
    seconds = arr.cast(pa.timestamp("s")).cast(pa.int64())
    out: Floats = _floats(seconds) / 86_400.0
    return out
