"""Ingest files into a Parquet lake on an engine (DuckDB embedded, or Spark past one machine).

The same compiled mapping as the store's ingest (``adapters/duckdb_ingest.prepare``: map,
validate with reject codes, key the ids, score against the expectation in force) runs on
the chosen engine over the whole file; dedupe on (source, event_id) against the lake and
within the file is one query below; the rows are appended as Parquet, Hive-partitioned:

    LAKE/experiences/period=YYYY-MM-DD/*.parquet   scored experiences (keys, never raw ids)
    LAKE/outcomes/period=YYYY-MM-DD/*.parquet      outcome answers (NPS, …)
    LAKE/rejected/received=YYYY-MM-DD/*.parquet    rejected rows, raw cells with ids keyed

A re-run of the same file adds nothing: its events are duplicates and its rejects are
already in the lake (same source, raw row, reason and event id).

Parquet is append-only, so an open promise (an experience with no value yet, see
``adapters/duckdb_derived``) that is kept or broken later is *appended* again (an ``update``);
:func:`gapwatch.engines.lake_schema.current_sql` reads the lake's experiences as the store
holds them: the latest copy of each (source, event_id), and a pending promise missed once the
clock has passed its due time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from gapwatch.adapters.duckdb_ingest import ASOF, CELLS, CHUNK, LATE, PreparedIngest, prepare
from gapwatch.adapters.duckdb_mapping import EARLIEST, LABELS, LATEST, ROW
from gapwatch.adapters.duckdb_sql import PAYLOAD, hmac_pads, hmac_sql, ident, lit
from gapwatch.config.schema import WorkspaceConfig
from gapwatch.domain.bounds import EventWindow
from gapwatch.domain.experience import KEY_CHARS, IngestCounts, IngestJob, Layout, RejectCode
from gapwatch.engines.dialect import bind
from gapwatch.engines.lake_schema import LAKE_SCHEMAS, current_sql, lake_columns
from gapwatch.ingest import readers
from gapwatch.ingest.files import CHUNK_ROWS, IngestError, IngestResult, _check_columns
from gapwatch.ingest.jobs import accepted_window, ingest_job
from gapwatch.ingest.lake_lock import lake_writer
from gapwatch.ports import Engine

if TYPE_CHECKING:
    from gapwatch.workspace import Workspace

__all__ = ["dedupe_sql", "ingest_lake", "ingest_workspace_lake"]


def macro_args(prep: PreparedIngest, now: dt.datetime) -> dict[str, Any]:
    """The stage macro's arguments (bound to literals here): the last closed day, the clock
    open promises are judged by, and the accepted event-time window."""
    lo, hi = prep.window()["lo"], prep.window()["hi"]
    # with its reject sentences inline the stage reads the window as parameters ($lo, $hi)
    return {
        LATE: prep.job.closed_through,
        ASOF: prep.job.as_of or now,
        EARLIEST: lo,
        LATEST: hi,
        "$lo": lo,
        "$hi": hi,
    }


def _same(columns: tuple[str, ...], a: str, b: str) -> str:
    """Whether two rows carry the same payload (NULLs equal), column by column."""

    def on(expr: str, alias: str) -> str:
        return f"{alias}.{expr}" if expr.isidentifier() else expr.replace("(", f"({alias}.", 1)

    return " AND ".join(f"{on(c, a)} IS NOT DISTINCT FROM {on(c, b)}" for c in columns)


def dedupe_sql(target: str, source: str) -> str:
    """Each accepted candidate's fate: accepted, duplicate or conflict (the first copy is kept).

    A repeat within the file is judged against the file's first copy, the first copy
    against the lake's current copy. A new payload for an open promise there (no value yet)
    is an ``update``, appended (the store replaces the row; :func:`current_sql` reads the latest).
    """
    same = PAYLOAD[target]
    lake = current_sql("__gw_lake") if target == "experiences" else "SELECT * FROM __gw_lake"
    open_ = "o.value IS NULL" if target == "experiences" else "FALSE"
    return f"""
WITH ok AS (SELECT * FROM __gw_stage WHERE code IS NULL),
old AS (SELECT * FROM ({lake}) WHERE source = {lit(source)}
        AND event_id IN (SELECT event_id FROM ok)),
ranked AS (SELECT *, row_number() OVER (PARTITION BY event_id ORDER BY pos) AS rn FROM ok),
firsts AS (SELECT * FROM ranked WHERE rn = 1)
SELECT r.pos, CASE
    WHEN r.rn > 1 THEN CASE WHEN {_same(same, "r", "f")} THEN 'duplicate' ELSE 'conflict' END
    WHEN o.event_id IS NULL THEN 'accepted'
    WHEN {_same(same, "r", "o")} THEN 'duplicate'
    WHEN {open_} THEN 'update' ELSE 'conflict' END AS outcome
FROM ranked r LEFT JOIN old o ON o.event_id = r.event_id
LEFT JOIN firsts f ON f.event_id = r.event_id
"""


def _accepted_sql(prep: PreparedIngest, now: dt.datetime) -> str:
    extra = {"source": lit(prep.job.source_name), "ingested_at": f"TIMESTAMPTZ {lit(now.isoformat())}"}
    if prep.target == "outcomes":
        extra["outcome"] = lit(prep.job.source.outcome)
    picks = ", ".join(
        f"CAST({extra.get(name, f's.{name}')} AS {sql_type}) AS {name}"
        for name, sql_type in lake_columns(prep.target)
    )
    return (
        f"SELECT {picks} FROM __gw_stage s JOIN __gw_fate d ON d.pos = s.pos "
        "WHERE d.outcome IN ('accepted', 'update')"
    )


def _raw_sql(prep: PreparedIngest, columns: list[str]) -> str:
    """The rejected row's cells as JSON, its customer and anonymous ids replaced by their keys."""
    src = prep.job.source
    keyed = {
        spec.column: key
        for spec, key in ((src.customer_id, "s.customer_key"), (src.anonymous_id, "s.anonymous_key"))
        if spec is not None and spec.column is not None
    }
    if prep.job.layout == "jsonl":  # the parsed cells of the line (the line itself holds the raw ids)
        from gapwatch.adapters.duckdb_mapping import mapped_columns

        columns = mapped_columns(prep.job)

    def cell(column: str) -> str:
        # text, and an empty cell null: Spark's CSV reader cannot tell an unquoted empty cell from none
        return keyed.get(column, f"NULLIF(CAST(c.{ident(column)} AS VARCHAR), '')")

    pairs = ", ".join(f"{lit(c)}, {cell(c)}" for c in columns)
    return f"json_object({pairs})" if pairs else "json_object()"


def _rejects_sql(prep: PreparedIngest, columns: list[str], now: dt.datetime) -> str:
    conflict = (
        "'the event id ''' || left(s.event_id, 60) || ''' was already received from source ' "
        f"|| {lit(repr(prep.job.source_name))} "
        "|| ' with a different payload (a conflict; the first one is kept)'"
    )
    relation = CELLS if prep.job.layout == "jsonl" else CHUNK
    bad = (
        "SELECT s.*, d.outcome FROM __gw_stage s LEFT JOIN __gw_fate d ON d.pos = s.pos "
        "WHERE (s.code IS NOT NULL OR d.outcome = 'conflict') "
        # an erased customer's event is counted, never kept (not even as a reject)
        f"AND s.code IS DISTINCT FROM {lit(RejectCode.ERASED_CUSTOMER.value)}"
    )
    rows = (
        f"SELECT {lit(prep.job.source_name)} AS source, s.event_id, {lit(prep.job.file)} AS file, "
        f"s.{ROW} AS row_number, CAST({_raw_sql(prep, columns)} AS VARCHAR) AS raw, "
        f"CASE WHEN s.outcome = 'conflict' THEN {conflict} "
        "ELSE s.message END AS reason, "
        f"coalesce(s.code, {lit(RejectCode.CONFLICT.value)}) AS reason_code, "
        "coalesce(s.customer_key, s.anonymous_key) AS customer_key, "
        "CASE WHEN s.outcome = 'conflict' THEN NULL ELSE left(s.bad_value, 200) END AS value "
        f"FROM ({bad}) s JOIN {relation} c ON c.{ROW} = s.{ROW}"
    )
    return _upsert_rejects(rows, now)


def _upsert_rejects(rows: str, now: dt.datetime) -> str:
    """Rejects grouped once per (source, raw row, reason, event id), less those already in the lake."""
    return (
        "SELECT source, event_id, min(file) AS file, min(row_number) AS row_number, min(raw) AS raw, "
        "min(reason) AS reason, reason_code, min(customer_key) AS customer_key, min(value) AS value, "
        "CAST(count(*) AS INTEGER) AS times, raw_hash, "
        f"TIMESTAMPTZ {lit(now.isoformat())} AS ingested_at, DATE {lit(now.date().isoformat())} AS received "
        f"FROM (SELECT *, sha256(raw) AS raw_hash FROM ({rows})) n "
        "WHERE NOT EXISTS (SELECT 1 FROM __gw_lake_rejected o WHERE o.source = n.source "
        "AND o.raw_hash = n.raw_hash AND o.reason_code = n.reason_code "
        "AND o.event_id IS NOT DISTINCT FROM n.event_id) "
        "GROUP BY source, event_id, reason_code, raw_hash"
    )


def _counts(engine: Engine) -> IngestCounts:
    """Counts of the stage's codes and of the dedupe's outcomes (one query)."""
    counts = IngestCounts()
    found = engine.fetch(
        "SELECT s.code, d.outcome, count(*) AS n FROM __gw_stage s "
        "LEFT JOIN __gw_fate d ON d.pos = s.pos GROUP BY s.code, d.outcome"
    ).to_pylist()
    for row in found:
        code, outcome, n = row["code"], row["outcome"], row["n"]
        if code is not None:
            counts.rejected += n
            counts.reasons[code] = counts.reasons.get(code, 0) + n
        elif outcome == "duplicate":
            counts.duplicate += n
        elif outcome == "conflict":
            counts.rejected += n
            counts.reasons[RejectCode.CONFLICT.value] = counts.reasons.get(RejectCode.CONFLICT.value, 0) + n
        else:
            counts.accepted += n
            if outcome == "update":  # an open promise kept or broken since (still one experience)
                counts.updated += n
    return counts


def _read(path: Path, fmt: str, job: IngestJob, malformed: list[Any]) -> Iterator[pa.Table]:
    """gapwatch's own reader (the DuckDB engine's input); malformed rows are set aside."""
    if fmt == "csv":
        _, chunks = readers.read_csv(path, CHUNK_ROWS)
    elif fmt == "parquet":
        _, chunks = readers.read_parquet(path, CHUNK_ROWS)
    else:
        chunks = readers.read_jsonl(path, CHUNK_ROWS)
    del job
    for chunk in chunks:
        malformed.extend(chunk.malformed)
        if chunk.table.num_rows:
            yield chunk.table


def _malformed_sql(now: dt.datetime, job: IngestJob) -> str:
    rows = (
        f"SELECT {lit(job.source_name)} AS source, CAST(NULL AS VARCHAR) AS event_id, "
        f"{lit(job.file)} AS file, "
        "row_number, to_json(text) AS raw, reason, "
        f"{lit(RejectCode.MALFORMED_ROW.value)} AS reason_code, CAST(NULL AS VARCHAR) AS customer_key, "
        "CAST(NULL AS VARCHAR) AS value "
        "FROM __gw_malformed"
    )
    return _upsert_rejects(rows, now)


def ingest_lake(
    engine: Engine,
    lake: Path,
    path: Path,
    source: str,
    config: WorkspaceConfig,
    *,
    secret: bytes,
    expectations: pa.Table,
    window: EventWindow | None = None,
    closed_through: dt.date | None = None,
    as_of: dt.datetime | None = None,
    erased: list[str] | None = None,
    now: dt.datetime | None = None,
) -> IngestResult:
    """Map, validate, key, score and dedupe one file on ``engine``; append it to ``lake``.

    ``expectations`` are the workspace's stored versions (all of them: a version is in force
    by its dates); ``secret`` is the workspace's HMAC key (ids are keyed on the engine).
    ``window``, ``closed_through`` and ``as_of`` are the store's ingest bounds
    (:func:`gapwatch.ingest.files.ingest_file`): the accepted event times, the last closed
    day, the clock open promises are judged by. ``erased``: the keys of the workspace's
    suppression list (their events are counted as suppressed, and never written).
    """
    import time

    started = time.perf_counter()
    now = now or dt.datetime.now(dt.UTC)
    if source not in config.sources:
        raise IngestError(
            f"unknown source {source!r} (gapwatch.yaml declares: {', '.join(config.sources)})", 2
        )
    mapping = config.sources[source]
    if not path.is_file():
        raise IngestError(f"{path}: no such file")
    try:
        fmt = readers.detect_format(path, mapping.format)
    except readers.UnreadableFile as exc:
        raise IngestError(str(exc)) from exc
    layout: Layout = "jsonl" if fmt == "jsonl" else "columns"
    job = ingest_job(
        source,
        mapping,
        config,
        path.name,
        layout=layout,
        closed_through=closed_through,
        window=window,
        as_of=as_of,
    )
    prep = prepare(job, messages_inline=True)
    malformed: list[Any] = []
    names = ["__gw_keys", "__gw_stage", "__gw_fate", CELLS, CHUNK, "expectations"]
    names += ["__gw_lake", "__gw_lake_rejected", "__gw_malformed", LABELS, "__gw_erased"]
    try:
        try:
            columns = engine.read_input(CHUNK, path, fmt, _read(path, fmt, job, malformed))
        except readers.UnreadableFile as exc:
            raise IngestError(str(exc)) from exc
        if layout == "columns":
            _check_columns(job, columns)
        engine.load_arrow("__gw_erased", pa.table({"customer_key": pa.array(erased or [], pa.string())}))
        with lake_writer(lake):  # what the dedupe reads must be what the append follows
            result = _run(engine, lake, prep, columns, secret, expectations, now)
            result.counts.add(_write_malformed(engine, lake, job, malformed, now))
    finally:
        engine.drop(*names)
    result.seconds = time.perf_counter() - started
    return result


def _run(
    engine: Engine,
    lake: Path,
    prep: PreparedIngest,
    columns: list[str],
    secret: bytes,
    expectations: pa.Table,
    now: dt.datetime,
) -> IngestResult:
    job = prep.job
    if prep.cells is not None:
        engine.create(CELLS, prep.cells)
    ipad, opad = hmac_pads(secret)
    keyed = f"SELECT id, kind, {hmac_sql('id', KEY_CHARS)} AS key FROM ({prep.ids})"
    keys = f"SELECT *, key IN (SELECT customer_key FROM __gw_erased) AS erased FROM ({keyed})"
    engine.create("__gw_keys", keys, {"ipad": ipad, "opad": opad}, materialise=False)
    engine.load_arrow("expectations", expectations)
    engine.load_parquet("__gw_lake", lake / prep.target, LAKE_SCHEMAS[prep.target])
    if prep.labels:  # the source's segment labels so far (the stage admits new ones up to its max)
        engine.create(LABELS, f"SELECT DISTINCT segment FROM __gw_lake WHERE source = {lit(job.source_name)}")
    engine.create("__gw_stage", bind(prep.stage, macro_args(prep, now)))
    engine.load_parquet("__gw_lake_rejected", lake / "rejected", LAKE_SCHEMAS["rejected"])
    engine.create("__gw_fate", dedupe_sql(prep.target, job.source_name))
    counts = _counts(engine)
    engine.write_parquet(_accepted_sql(prep, now), lake / prep.target, "period")
    if counts.rejected:
        engine.write_parquet(_rejects_sql(prep, columns, now), lake / "rejected", "received")
    result = IngestResult(job.source_name, job.file)
    result.counts.add(counts)
    return result


def _write_malformed(
    engine: Engine, lake: Path, job: IngestJob, rows: list[Any], now: dt.datetime
) -> IngestCounts:
    counts = IngestCounts()
    if not rows:
        return counts
    table = pa.table(
        {
            "row_number": pa.array([r.row_number for r in rows], pa.int64()),
            "text": [r.text for r in rows],
            "reason": [r.reason for r in rows],
        }
    )
    engine.load_arrow("__gw_malformed", table)
    engine.load_parquet("__gw_lake_rejected", lake / "rejected", LAKE_SCHEMAS["rejected"])
    engine.write_parquet(_malformed_sql(now, job), lake / "rejected", "received")
    counts.rejected = len(rows)
    counts.reasons[RejectCode.MALFORMED_ROW.value] = len(rows)
    return counts


def ingest_workspace_lake(ws: Workspace, engine: Engine, lake: Path, path: Path, source: str) -> IngestResult:
    """:func:`ingest_lake` with the workspace's mapping, expectations and HMAC key."""
    from gapwatch.workspace import read_secret

    expectations = ws.store.table("expectations")
    return ingest_lake(
        engine,
        lake,
        path,
        source,
        ws.config,
        secret=read_secret(ws.root),
        expectations=expectations,
        window=accepted_window(ws.store, ws.config),
        erased=ws.store.table("erased").column("customer_key").to_pylist(),
    )
