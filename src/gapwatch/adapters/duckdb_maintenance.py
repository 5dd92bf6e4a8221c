"""Store maintenance that rewrites what is already stored: the window repair and the compaction.

* :func:`repair_window` moves stored experiences and outcomes whose event time lies outside
  the accepted window into ``rejected`` (with their reason code), so a store that holds a
  9999-12-31 event from an older version still opens, serves and detects with live state
  sized by the window.
* :func:`copy_database` writes a fresh database file holding only the live rows. DuckDB
  never overwrites a freed block: after ``UPDATE`` / ``DELETE`` and a checkpoint (even
  after rewriting a table whole) the old bytes stay in the file's free blocks, readable with
  ``grep -a``. Erasure therefore ends with a copy of the database into a new file that
  replaces the old one (DuckDB's documented way to compact a file).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from pathlib import Path
from typing import Any

from gapwatch.adapters.duckdb_ingest import upsert_rejects
from gapwatch.adapters.duckdb_mapping import PROMISE_AHEAD_DAYS
from gapwatch.adapters.duckdb_sql import ident, lit
from gapwatch.domain.experience import RejectCode

REPAIR_FILE = "(store repair)"  # the `file` of rows moved out by the repair
_CODE = (
    f"CASE WHEN occurred_at > $hi THEN {lit(RejectCode.IN_FUTURE.value)} "
    f"ELSE {lit(RejectCode.TOO_EARLY.value)} END"
)
_OUTSIDE = "(occurred_at < $lo OR occurred_at > $hi OR NOT isfinite(occurred_at))"
# An open promise is dated when it falls due, which ingest accepts up to a year past the window.
_OPEN = "(value IS NULL AND due_at IS NOT NULL)"
_OUTSIDE_EXPERIENCE = (
    f"(occurred_at < $lo OR NOT isfinite(occurred_at) OR occurred_at > $hi + CASE WHEN {_OPEN} "
    f"THEN INTERVAL {PROMISE_AHEAD_DAYS} DAY ELSE INTERVAL 0 DAY END)"
)


def repair_window(con: Any, earliest: dt.datetime, latest: dt.datetime, now: dt.datetime) -> dict[str, int]:
    """Move rows outside [``earliest``, ``latest``] from experiences and outcomes to ``rejected``.

    Runs on a connection inside the caller's transaction; returns how many rows moved per table.
    """
    params = {"lo": earliest, "hi": latest}
    moved: dict[str, int] = {}
    for table in ("experiences", "outcomes"):
        outside = _OUTSIDE_EXPERIENCE if table == "experiences" else _OUTSIDE
        n = int(con.execute(f"SELECT count(*) FROM {table} WHERE {outside}", params).fetchall()[0][0])
        if not n:
            continue
        reason = (
            "'occurred_at ' || CAST(occurred_at AS VARCHAR) || ' lies outside the accepted "
            "event-time window "
            f"(' || strftime($lo, '%Y-%m-%d') || ' .. ' || strftime($hi, '%Y-%m-%d') || '); moved out of "
            f"{table} when the store was opened'"
        )
        # Kept like every reject (once per row and reason; a repeat counts in `times`).
        con.execute(
            "CREATE OR REPLACE TEMP TABLE __gw_rej_in AS SELECT source, event_id, $file AS file, "
            "NULL::BIGINT AS row_number, to_json(t) AS raw, "
            f"{reason} AS reason, {_CODE} AS reason_code, customer_key, "
            "CAST(occurred_at AS VARCHAR) AS value "
            f"FROM (SELECT * EXCLUDE (payload_hash, key_hash) FROM {table} WHERE {outside}) t",
            {**params, "file": REPAIR_FILE},
        )
        upsert_rejects(con, now)
        con.execute(f"DELETE FROM {table} WHERE {outside}", params)
        moved[table] = n
    return moved


def copy_database(con: Any, path: Path) -> Path:
    """Copy every table of ``con``'s database into a new file beside ``path``; returns the new file.

    The caller closes ``con`` and moves the copy over ``path`` (:func:`replace_file`).
    """
    side = path.with_name(path.name + ".compact")
    for leftover in (side, side.with_name(side.name + ".wal")):
        leftover.unlink(missing_ok=True)
    name = str(con.execute("SELECT current_database()").fetchall()[0][0])
    con.execute(f"ATTACH {lit(str(side))} AS __gw_compact")
    try:
        con.execute(f"COPY FROM DATABASE {ident(name)} TO __gw_compact")
    finally:
        con.execute("DETACH __gw_compact")  # (checkpoints the copy: one file, no log)
    return side


def replace_file(side: Path, path: Path) -> None:
    """Put the copy in place of the database atomically; the old file and its log are gone."""
    _fsync(side)
    side.chmod(0o600)
    side.replace(path)
    path.with_name(path.name + ".wal").unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # the rename is durable once the folder is synced
        _fsync(path.parent)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
