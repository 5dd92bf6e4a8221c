"""One chunk of an ingest, set-wise in DuckDB: key the ids, stage and score, dedupe, store.

Every function here runs on a connection the caller has put inside a transaction, so a
chunk is stored whole or not at all (the batch store and the live service's writer both
wrap them that way). Nothing loops over rows in Python.

Wide tables are costly to copy, so a chunk is materialised once (``__gw_stage``: mapped,
validated, scored and hashed in one statement) and then inserted once; dedupe works on a
narrow side table of the few rows that are not plainly new (``__gw_dup``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from gapwatch.adapters.duckdb_mapping import ROW, compiler, mapped_columns
from gapwatch.adapters.duckdb_sql import PAYLOAD, hash64, hmac_sql, ident, lit, score_sql
from gapwatch.adapters.key_filter import KeyFilter
from gapwatch.domain.experience import KEY_CHARS, IngestCounts, IngestJob, RejectCode

CHUNK = "__gw_chunk"
LATE = "__gw_late"  # the stage macro's argument: the last closed day
CELLS = "__gw_cells"
LINE = "__gw_line"
CURRENT = "(SELECT * FROM expectations WHERE superseded_at IS NULL)"
EXPERIENCE_COLUMNS = (
    "event_id, customer_key, anonymous_key, occurred_at, period, moment, stage, silo, segment, metric, "
    "value, expected, expectation_id, adequate, desired, gap, gap_norm, status, text, attributes, "
    "payload_hash, late, "
    "key_hash"
)
OUTCOME_COLUMNS = "event_id, customer_key, anonymous_key, occurred_at, period, value, payload_hash, key_hash"


@dataclass(frozen=True, slots=True)
class PreparedIngest:
    """A job compiled once and run on every chunk."""

    job: IngestJob
    ids: str
    stage: str
    target: str  # 'experiences' or 'outcomes'
    cells: str | None = None  # JSON lines: the query that parses them into CELLS, once per chunk
    macro: str = ""  # the stage as a temporary table macro of the writer connection (see stage_macro)
    messages: str = ""  # the mapping again, with each reject's sentence (run only for chunks with rejects)

    def stage_macro(self) -> str:
        """The statement that defines :attr:`macro` (once per connection).

        The stage query is long (every mapped field, check and score): parsing it is a good
        part of a small chunk's cost, and a macro is parsed once. Its one argument is the
        last closed day (older experiences are flagged late).
        """
        return f"CREATE OR REPLACE TEMP MACRO {self.macro}({LATE}) AS TABLE {self.stage}"


def prepare(job: IngestJob, *, messages_inline: bool = False) -> PreparedIngest:
    """Compile ``job``'s mapping into the chunk's queries.

    ``messages_inline``: the stage carries each reject's sentence itself (a whole file at
    once on an engine, where planning the mapping a second time costs more than the sentences).
    """
    # JSON lines are parsed once per chunk into a temp table (CELLS): the ids and the stage
    # both read the mapped columns, and parsing is the costly part.
    cells = _json_cells(job) if job.layout == "jsonl" else None
    relation = CELLS if cells else CHUNK
    comp = compiler(job, relation, messages=messages_inline)
    messages = f"SELECT {ROW}, entry, message FROM ({compiler(job, relation).sql()}) WHERE code IS NOT NULL"
    target = "outcomes" if job.source.kind == "outcome" else "experiences"
    staged = _scored(job, comp.sql()) if target == "experiences" else _keyed(comp.sql())
    # The raw ids stop here: only their keys go on (and a narrower table is cheaper to copy).
    stage = f"SELECT * EXCLUDE (customer_id, anonymous_id), {_hashes(target)} FROM ({staged})"
    macro = "__gw_stage_" + hashlib.sha256(stage.encode()).hexdigest()[:16]
    return PreparedIngest(job, comp.ids_sql(), stage, target, cells, macro, messages)


def _json_cells(job: IngestJob) -> str:
    """Parse each raw JSON line once into the mapped columns (absent keys are empty cells)."""
    columns = mapped_columns(job)
    paths = "[" + ", ".join(lit('$."' + c.replace('"', '\\"') + '"') for c in columns) + "]"
    picks = ", ".join(f"__gw_l[{i + 1}] AS {ident(c)}" for i, c in enumerate(columns))
    return (
        f"(SELECT {ROW}, __gw_ok, {picks} FROM ("
        f"SELECT *, CASE WHEN __gw_ok THEN json_extract_string({LINE}, {paths}) END AS __gw_l FROM ("
        f"SELECT *, CASE WHEN json_valid({LINE}) THEN json_type({LINE}) = 'OBJECT' ELSE FALSE END AS __gw_ok "
        f"FROM {CHUNK})))"
    )


_KEYS = (
    "LEFT JOIN __gw_keys ck ON ck.kind = 'customer' AND ck.id = m.customer_id "
    "LEFT JOIN __gw_keys ak ON ak.kind = 'anonymous' AND ak.id = m.anonymous_id"
)


def _keyed(mapped: str) -> str:
    return f"SELECT m.*, ck.key AS customer_key, ak.key AS anonymous_key FROM ({mapped}) m {_KEYS}"


def _scored(job: IngestJob, mapped: str) -> str:
    """Join the keys and the expectation in force (the segment's own, else 'all'); score."""
    owners = job.vocabulary.owners
    stage = "CASE moment " + " ".join(f"WHEN {lit(m)} THEN {lit(o[0])}" for m, o in owners.items()) + " END"
    silo = "CASE moment " + " ".join(f"WHEN {lit(m)} THEN {lit(o[1])}" for m, o in owners.items()) + " END"
    in_force = (
        "m.code IS NULL AND {x}.moment = m.moment AND {x}.metric = m.metric AND {x}.segment = {seg} "
        "AND {x}.valid_from <= m.period AND ({x}.valid_to IS NULL OR m.period < {x}.valid_to)"
    )
    pick = ", ".join(
        f"CASE WHEN x1.id IS NOT NULL THEN x1.{c} ELSE x2.{c} END AS x_{c}"
        for c in ("id", "adequate", "desired", "direction")
    )
    joined = (
        f"SELECT m.*, ck.key AS customer_key, ak.key AS anonymous_key, {pick} FROM ({mapped}) m {_KEYS} "
        f"LEFT JOIN {CURRENT} x1 ON {in_force.format(x='x1', seg='m.segment')} "
        f"LEFT JOIN {CURRENT} x2 ON {in_force.format(x='x2', seg=lit('all'))}"
    )
    sign = "(CASE x_direction WHEN 'higher' THEN 1.0 ELSE -1.0 END)"
    gap = score_sql("value", "x_adequate", "x_desired", sign, "expected")
    no_exp = lit(RejectCode.NO_EXPECTATION.value)
    no_exp_msg = (
        "'no expectation is in force for ' || moment || ' / ' || segment || ' / ' || metric || ' on ' "
        "|| strftime(period, '%Y-%m-%d') || ' (neither for the segment nor for ''all'')'"
    )
    return (
        f"SELECT * EXCLUDE (code, message, x_id, x_adequate, x_desired, x_direction), "
        f"CASE WHEN code IS NULL AND x_id IS NULL THEN {no_exp} ELSE code END AS code, "
        f"CASE WHEN code IS NULL AND x_id IS NULL THEN {no_exp_msg} ELSE message END AS message, "
        f"x_id AS expectation_id, {stage} AS stage, {silo} AS silo, x_desired AS desired, "
        + ", ".join(f"{expr} AS {name}" for name, expr in gap.items())
        + f", coalesce(period <= {LATE}::DATE, FALSE) AS late FROM ({joined})"
    )


def _hashes(target: str) -> str:
    return (
        f"CASE WHEN code IS NULL THEN {hash64('event_id')} END AS key_hash, "
        f"CASE WHEN code IS NULL THEN {hash64(*PAYLOAD[target])} END AS payload_hash, "
        f"({ROW} * 64 + entry) AS pos"
    )


def write_chunk(
    con: Any,
    prep: PreparedIngest,
    chunk: pa.Table,
    pads: tuple[bytes, bytes],
    now: dt.datetime,
    known: KeyFilter | None = None,
    defined: bool = False,
) -> IngestCounts:
    """Key, stage, dedupe and store one chunk; ``chunk`` carries ``__gw_row``.

    ``known`` (the live service's filter of stored event-id hashes of ``prep.target``) spares
    the scan of stored hashes when it shows every event of the chunk to be new. ``defined``:
    the stage macro exists on ``con`` already (DuckDB checks a macro's tables when it is
    defined, so it is defined here, once the chunk's relations exist).
    """
    source = prep.job.source_name
    con.register(CHUNK, chunk)
    try:
        if prep.cells is not None:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {CELLS} AS {prep.cells}")
        _pseudonymise(con, prep, pads, now)
        if not defined:
            con.execute(prep.stage_macro())
        stage = f"CREATE OR REPLACE TEMP TABLE __gw_stage AS SELECT * FROM {prep.macro}($late::DATE)"
        con.execute(stage, {"late": prep.job.closed_through})
        hashes = None
        probe = "key_hash IN (SELECT key_hash FROM ok)"
        if known is not None:
            staged = con.sql("SELECT key_hash FROM __gw_stage WHERE code IS NULL").fetchnumpy()
            hashes = np.asarray(staged["key_hash"], dtype=np.uint64)
            if not known.might_contain(hashes).any():
                probe = "FALSE"  # every event is new to the store: only repeats within the chunk remain
        con.execute(_DEDUPE.format(target=prep.target, probe=probe), {"source": source})
        _insert(con, prep, now)
        if known is not None and hashes is not None:
            known.add(hashes)
        counts = _counts(con)
        if counts.rejected:  # most chunks have none: skip the reject statements
            columns = [c for c in chunk.column_names if c != ROW]
            con.execute(_rejects(prep, columns), {"source": source, "file": prep.job.file})
            upsert_rejects(con, now)
    finally:
        with contextlib.suppress(duckdb.Error):  # an aborted transaction refuses it; the caller rolls back
            con.unregister(CHUNK)
    counts.rows = chunk.num_rows
    counts.chunks = 1
    return counts


def _pseudonymise(con: Any, prep: PreparedIngest, pads: tuple[bytes, bytes], now: dt.datetime) -> None:
    """Key every distinct id of the chunk once; record the new ones in ``identities``.

    An id already in ``identities`` takes its stored key (the key is a function of the id
    and the workspace secret, so it is the same); only new ids pay for the two SHA-256 of
    the HMAC, which the ``CASE`` of ``coalesce`` evaluates for them alone. (customer_id,
    kind) is unique in ``identities``: this is its only writer and it adds only ids not
    there, so the join cannot multiply ids (and needs no grouping, which costs more than
    the join on a large store).
    """
    con.execute(
        "CREATE OR REPLACE TEMP TABLE __gw_keys AS "
        f"SELECT ids.id, ids.kind, coalesce(i.customer_key, {hmac_sql('ids.id', KEY_CHARS)}) AS key, "
        f"i.customer_key IS NULL AS new FROM ({prep.ids}) ids "
        "LEFT JOIN identities i ON i.customer_id = ids.id AND i.kind = ids.kind",
        {"ipad": pads[0], "opad": pads[1]},
    )
    con.execute("INSERT INTO identities SELECT key, id, kind, $now FROM __gw_keys WHERE new", {"now": now})


# Rows that are not plainly new: an event id seen twice in the chunk, or already stored.
# Within the chunk the first occurrence stands for the others; the probe of the stored
# table runs on the 64-bit key hash (integers), the id itself settles the rare collision.
_DEDUPE = """
CREATE OR REPLACE TEMP TABLE __gw_dup AS
WITH ok AS (SELECT pos, key_hash, event_id, payload_hash FROM __gw_stage WHERE code IS NULL),
multi AS (SELECT key_hash FROM ok GROUP BY key_hash HAVING count(*) > 1),
old AS (SELECT key_hash, event_id, payload_hash FROM {target}
        WHERE source = $source AND {probe}),
cand AS (SELECT * FROM ok
         WHERE key_hash IN (SELECT key_hash FROM multi) OR key_hash IN (SELECT key_hash FROM old)),
ranked AS (SELECT *, row_number() OVER w AS rn, first_value(payload_hash) OVER w AS first_hash FROM cand
           WINDOW w AS (PARTITION BY key_hash, event_id ORDER BY pos))
SELECT r.pos, r.event_id, CASE
    WHEN r.rn > 1 THEN CASE WHEN r.payload_hash = r.first_hash THEN 'duplicate' ELSE 'conflict' END
    WHEN o.payload_hash IS NULL THEN 'accepted'
    WHEN o.payload_hash = r.payload_hash THEN 'duplicate' ELSE 'conflict' END AS outcome
FROM ranked r LEFT JOIN old o ON o.key_hash = r.key_hash AND o.event_id = r.event_id
"""


def _insert(con: Any, prep: PreparedIngest, now: dt.datetime) -> None:
    columns = EXPERIENCE_COLUMNS if prep.target == "experiences" else OUTCOME_COLUMNS
    extra = "" if prep.target == "experiences" else ", $outcome AS outcome"
    params: dict[str, Any] = {"now": now, "source": prep.job.source_name}
    if prep.target == "outcomes":
        params["outcome"] = prep.job.source.outcome
    con.execute(
        f"INSERT INTO {prep.target} BY NAME SELECT {columns}, $source AS source, $now AS ingested_at{extra} "
        "FROM __gw_stage s WHERE code IS NULL AND NOT EXISTS "
        "(SELECT 1 FROM __gw_dup d WHERE d.pos = s.pos AND d.outcome <> 'accepted')",
        params,
    )


def _raw_json(prep: PreparedIngest, chunk_columns: list[str]) -> str:
    if prep.job.layout == "jsonl":
        return f"CASE WHEN json_valid(c.{LINE}) THEN c.{LINE}::JSON ELSE to_json(c.{LINE}) END"
    pairs = ", ".join(f"{lit(name)}, c.{ident(name)}" for name in chunk_columns)
    return f"json_object({pairs})"


def _rejects(prep: PreparedIngest, columns: list[str]) -> str:
    """Rejected candidates and conflicts, with the whole raw row, into ``__gw_rej_in``."""
    conflict = (
        "'the event id ''' || left(s.event_id, 60) || ''' was already received from source ' "
        f"|| {lit(repr(prep.job.source_name))} "
        "|| ' with a different payload (a conflict; the first one is kept)'"
    )
    bad = (
        "SELECT s.*, NULL AS outcome FROM __gw_stage s WHERE s.code IS NOT NULL UNION ALL BY NAME "
        "SELECT s.*, d.outcome FROM __gw_stage s JOIN __gw_dup d ON d.pos = s.pos "
        "WHERE d.outcome = 'conflict'"
    )
    return (
        "CREATE OR REPLACE TEMP TABLE __gw_rej_in AS SELECT $source AS source, s.event_id, $file AS file, "
        f"s.{ROW} AS row_number, {_raw_json(prep, columns)} AS raw, "
        f"CASE WHEN s.outcome = 'conflict' THEN {conflict} "
        "ELSE coalesce(s.message, mm.message) END AS reason, "
        f"coalesce(s.code, {lit(RejectCode.CONFLICT.value)}) AS reason_code, "
        f"coalesce(s.customer_key, s.anonymous_key) AS customer_key "
        f"FROM ({bad}) s JOIN {CHUNK} c ON c.{ROW} = s.{ROW} "
        f"LEFT JOIN ({prep.messages}) mm ON mm.{ROW} = s.{ROW} AND mm.entry = s.entry"
    )


def upsert_rejects(con: Any, now: dt.datetime) -> None:
    """Store ``__gw_rej_in`` rows once per (source, raw row, event id, reason); count repeats."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE __gw_rej AS SELECT source, event_id, any_value(file) AS file, "
        "min(row_number) AS row_number, any_value(raw) AS raw, any_value(reason) AS reason, reason_code, "
        "any_value(customer_key) AS customer_key, raw_hash, count(*)::INTEGER AS times FROM "
        f"(SELECT *, {hash64('CAST(raw AS VARCHAR)')} AS raw_hash FROM __gw_rej_in) "
        "GROUP BY source, event_id, reason_code, raw_hash"
    )
    same = (
        "r.source = j.source AND r.raw_hash = j.raw_hash AND r.reason_code = j.reason_code "
        "AND r.event_id IS NOT DISTINCT FROM j.event_id"
    )
    con.execute(
        f"UPDATE rejected r SET last_seen = $now, times = r.times + j.times FROM __gw_rej j WHERE {same}",
        {"now": now},
    )
    con.execute(
        "INSERT INTO rejected SELECT source, event_id, file, row_number, raw, reason, reason_code, "
        "customer_key, $now, $now, times, raw_hash FROM __gw_rej j "
        f"WHERE NOT EXISTS (SELECT 1 FROM rejected r WHERE {same})",
        {"now": now},
    )


def _counts(con: Any) -> IngestCounts:
    counts = IngestCounts()
    for code, n in con.execute("SELECT code, count(*) FROM __gw_stage GROUP BY ALL").fetchall():
        if code is None:
            counts.accepted += n
        else:
            counts.rejected += n
            counts.reasons[code] = counts.reasons.get(code, 0) + n
    for outcome, n in con.execute("SELECT outcome, count(*) FROM __gw_dup GROUP BY ALL").fetchall():
        if outcome == "accepted":
            continue
        counts.accepted -= n
        if outcome == "duplicate":
            counts.duplicate += n
        else:
            counts.rejected += n
            counts.reasons[RejectCode.CONFLICT.value] = counts.reasons.get(RejectCode.CONFLICT.value, 0) + n
    return counts


def write_malformed(con: Any, job: IngestJob, rows: pa.Table, now: dt.datetime) -> None:
    """Reject rows the reader could not split (``rows``: row_number, text, reason)."""
    con.register("__gw_malformed", rows)
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE __gw_rej_in AS SELECT $source AS source, "
            "NULL::VARCHAR AS event_id, "
            "$file AS file, row_number, to_json(text) AS raw, reason, "
            f"{lit(RejectCode.MALFORMED_ROW.value)} AS reason_code, NULL::VARCHAR AS customer_key "
            "FROM __gw_malformed",
            {"source": job.source_name, "file": job.file},
        )
        upsert_rejects(con, now)
    finally:
        with contextlib.suppress(duckdb.Error):
            con.unregister("__gw_malformed")
