"""Erasure over a lake: the workspace's suppression list applied to the Parquet partitions.

The lake holds keys, never raw identifiers, but a key with the workspace's HMAC key still points
back to a person, and an event id, a comment or an attribute may spell them. This does to the
lake what ``customers/erasure.py`` does to the store, on the same engine as the lake's ingest:

* experiences and outcomes of an erased key keep their numbers (every statistic and chart stays
  as it was) and lose the rest: the key becomes a tombstone, the event id a salted hash (equal
  for every copy of one event, so a promise updated since stays one experience; the salt is
  random and never kept), the text and attributes go;
* other people's text and attributes that spell one of the given customer ids are removed;
* rejected rows of an erased key, rows whose raw cells hold one of the keys and rows that
  spell one of the given ids are deleted;
* only the partitions holding such a row are rewritten. New files are written beside the lake,
  then each partition folder is swapped for its new one; the old files are deleted. A crash in
  the middle leaves the old folders in ``LAKE/.gapwatch-erase-*/``: the next run puts them back
  and erases again (the suppression list is the source of truth, and a rerun is idempotent).
"""

from __future__ import annotations

import datetime as dt
import secrets
import shutil
import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from gapwatch.adapters.duckdb_sql import lit
from gapwatch.engines.lake_schema import LAKE_SCHEMAS, lake_columns
from gapwatch.ingest.lake_lock import lake_writer
from gapwatch.ports import Engine

__all__ = ["LakeErasure", "erase_lake", "word_pattern"]

_WORK = ".gapwatch-erase-"
_KEYS, _IDS, _PARTS, _RAW = "__gw_erase_keys", "__gw_erase_ids", "__gw_erase_parts", "__gw_erase_raw"


@dataclass
class LakeErasure:
    """What an erasure changed in a lake, per table."""

    keys: int
    partitions: dict[str, int] = field(default_factory=dict)
    unlinked: dict[str, int] = field(default_factory=dict)  # experiences, outcomes: rows tombstoned
    scrubbed: dict[str, int] = field(default_factory=dict)  # others' rows whose text spelt an id
    deleted: int = 0  # rejected rows
    restored: int = 0  # partitions a crashed run had left aside, put back first

    def as_dict(self) -> dict[str, object]:
        return {
            "keys": self.keys,
            "partitions_rewritten": self.partitions,
            "rows_unlinked": self.unlinked,
            "rows_scrubbed": self.scrubbed,
            "rejects_deleted": self.deleted,
            "partitions_restored": self.restored,
        }


def _partition(table: str) -> str:
    return "received" if table == "rejected" else "period"


def _in_keys(column: str) -> str:
    return f"{column} IN (SELECT key FROM {_KEYS})"


def word_pattern(customer_id: str) -> str:
    r"""A regular expression that finds ``customer_id`` (lower case) as a whole word, read alike by
    DuckDB (RE2) and Spark (Java): ASCII punctuation escaped, letters and the rest as themselves.

    A whole word, as the store's erasure: erasing customer ``c1`` must not blank a comment about
    order ``c10``.

    Examples
    --------
    >>> word_pattern("Ann.Lee@x.com")
    '(^|[^a-z0-9])ann\\.lee\\@x\\.com($|[^a-z0-9])'
    """
    body = "".join(f"\\{c}" if c in string.punctuation else c for c in customer_id.lower())
    return f"(^|[^a-z0-9]){body}($|[^a-z0-9])"


def _spelt(column: str) -> str:
    """``column`` spells one of the given ids (in any case)."""
    return (
        f"EXISTS (SELECT 1 FROM {_IDS} i WHERE regexp_matches(lower(CAST({column} AS VARCHAR)), i.pattern))"
    )


def _hits(table: str) -> tuple[str, str]:
    """(a row of an erased person, a row that spells one of their ids) for ``table``."""
    if table == "rejected":
        held = f"EXISTS (SELECT 1 FROM {_KEYS} k WHERE contains(raw, k.key))"
        return f"({_in_keys('customer_key')} OR {held})", f"({_spelt('raw')} OR {_spelt('event_id')})"
    mine = f"({_in_keys('customer_key')} OR {_in_keys('anonymous_key')})"
    if table == "outcomes":
        return mine, "FALSE"
    return mine, f"({_spelt('text')} OR {_spelt('attributes')})"


def _rewritten_sql(table: str, salt: str, tomb: str) -> str:
    """The affected partitions' rows as they are to be written back."""
    mine, spelt = _hits(table)
    part = _partition(table)
    where = f"{part} IN (SELECT p FROM {_PARTS})"
    if table == "rejected":
        return f"SELECT * FROM {_RAW} WHERE {where} AND NOT ({mine} OR {spelt})"
    changed = {
        "event_id": f"CASE WHEN {mine} THEN 'erased:' || sha256({lit(salt)} || source || '|' || event_id) "
        "ELSE event_id END",
        "customer_key": f"CASE WHEN {_in_keys('customer_key')} THEN {lit(tomb)} ELSE customer_key END",
        "anonymous_key": f"CASE WHEN {_in_keys('anonymous_key')} THEN {lit(tomb)} ELSE anonymous_key END",
    }
    if table == "experiences":
        changed["text"] = f"CASE WHEN {mine} OR {_spelt('text')} THEN NULL ELSE text END"
        changed["attributes"] = f"CASE WHEN {mine} OR {_spelt('attributes')} THEN NULL ELSE attributes END"
    picks = ", ".join(
        f"CAST({changed.get(name, name)} AS {sql_type}) AS {name}" for name, sql_type in lake_columns(table)
    )
    return f"SELECT {picks} FROM {_RAW} WHERE {where}"


def _restore(lake: Path) -> int:
    """Put back the partitions a crashed erasure had moved aside, then clear its work folders."""
    restored = 0
    for work in sorted(lake.glob(f"{_WORK}*")):
        aside = work / "aside"
        for folder in sorted(aside.glob("*/*")) if aside.exists() else []:
            home = lake / folder.parent.name / folder.name
            if not home.exists():
                folder.replace(home)
                restored += 1
        shutil.rmtree(work)
    return restored


def erase_lake(engine: Engine, lake: Path, keys: Sequence[str], ids: Sequence[str] = ()) -> LakeErasure:
    """Apply erasure of ``keys`` (the workspace's suppression list) to every table of ``lake``.

    ``ids`` are the raw customer ids being erased now, as the store normalises them (lower
    case, trimmed): rows of other people that spell one of them lose that text. Nothing is
    done to a table without a hit.
    """
    with lake_writer(lake):
        return _erase_lake(engine, lake, keys, ids)


def _erase_lake(engine: Engine, lake: Path, keys: Sequence[str], ids: Sequence[str]) -> LakeErasure:
    done = LakeErasure(keys=len(set(keys)), restored=_restore(lake))
    if not keys:
        return done
    work = lake / f"{_WORK}{secrets.token_hex(8)}"
    salt, tomb = secrets.token_hex(32), f"erased:{secrets.token_hex(12)}"
    engine.load_arrow(_KEYS, pa.table({"key": pa.array(sorted(set(keys)), pa.string())}))
    patterns = sorted({word_pattern(i) for i in ids if i.strip()})
    engine.load_arrow(_IDS, pa.table({"pattern": pa.array(patterns, pa.string())}))
    try:
        for table in LAKE_SCHEMAS:
            folder = lake / table
            if not any(folder.glob("*/*.parquet")):
                continue
            _erase_table(engine, folder, table, work, salt, tomb, done)
    finally:
        engine.drop(_KEYS, _IDS, _PARTS, _RAW)
        if work.exists():
            _restore(lake)  # a failure before every partition was swapped: the old data back
    return done


def _erase_table(
    engine: Engine, folder: Path, table: str, work: Path, salt: str, tomb: str, done: LakeErasure
) -> None:
    part = _partition(table)
    engine.load_parquet(_RAW, folder, LAKE_SCHEMAS[table])
    mine, spelt = _hits(table)
    # the flags first, then the counts: DuckDB 2.0 counts a correlated EXISTS in FILTER as false
    found = engine.fetch(
        "SELECT p, CAST(sum(CASE WHEN m THEN 1 ELSE 0 END) AS BIGINT) AS mine, "
        "CAST(sum(CASE WHEN m THEN 0 ELSE 1 END) AS BIGINT) AS spelt FROM ("
        f"SELECT {part} AS p, {mine} AS m, {spelt} AS s FROM {_RAW}) WHERE m OR s GROUP BY p"
    ).to_pylist()
    if not found:
        engine.drop(_RAW)
        return
    parts = sorted(r["p"] for r in found)
    engine.load_arrow(_PARTS, pa.table({"p": pa.array(parts, LAKE_SCHEMAS[table].field(part).type)}))
    staged = work / "staged" / table
    engine.write_parquet(_rewritten_sql(table, salt, tomb), staged, part)
    engine.drop(_RAW, _PARTS)
    aside = work / "aside" / table
    aside.mkdir(parents=True, exist_ok=True)
    for value in parts:
        name = f"{part}={value.isoformat() if isinstance(value, dt.date) else value}"
        (folder / name).replace(aside / name)  # same file system: a rename
        if (staged / name).exists():  # a partition of rejects only may be left empty
            (staged / name).replace(folder / name)
    shutil.rmtree(work / "aside" / table)
    done.partitions[table] = len(parts)
    if table == "rejected":
        done.deleted += sum(r["mine"] + r["spelt"] for r in found)
    else:
        done.unlinked[table] = sum(r["mine"] for r in found)
        done.scrubbed[table] = sum(r["spelt"] for r in found)
