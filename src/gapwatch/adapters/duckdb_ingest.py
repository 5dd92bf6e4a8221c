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

from gapwatch.adapters.duckdb_mapping import EARLIEST, LABELS, LATEST, ROW, TYPES, compiler, mapped_columns
from gapwatch.adapters.duckdb_sql import PAYLOAD, hash64, hmac_sql, ident, lit, score_sql
from gapwatch.adapters.key_filter import KeyFilter
from gapwatch.domain.experience import KEY_CHARS, IngestCounts, IngestJob, RejectCode

ERASED_REASON = "the customer was erased; events for them are suppressed and not stored"
# Bounds that accept every event time (a job without a window).
OPEN_WINDOW = (dt.datetime(1, 1, 1, tzinfo=dt.UTC), dt.datetime(9999, 12, 31, tzinfo=dt.UTC))

CHUNK = "__gw_chunk"
LATE = "__gw_late"  # the stage macro's argument: the last closed day
ASOF = "__gw_asof"  # and the clock: an open promise due by then counts as missed
CELLS = "__gw_cells"
LINE = "__gw_line"
CURRENT = "(SELECT * FROM expectations WHERE superseded_at IS NULL)"
EXPERIENCE_COLUMNS = (
    "event_id, customer_key, anonymous_key, occurred_at, period, moment, stage, silo, segment, metric, "
    "value, expected, expectation_id, adequate, desired, gap, gap_norm, status, text, attributes, "
    "payload_hash, late, "
    "key_hash, due_at"
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
        part of a small chunk's cost, and a macro is parsed once. Its arguments are the last
        closed day (older experiences are flagged late), the clock (an open promise whose due
        time has passed is missed; one still ahead is stored pending, without a status) and the
        accepted event-time window.
        """
        return (
            f"CREATE OR REPLACE TEMP MACRO {self.macro}({LATE}, {ASOF}, {EARLIEST}, {LATEST}) "
            f"AS TABLE {self.stage}"
        )

    def window(self) -> dict[str, dt.datetime]:
        """The accepted event-time window as bound parameters (``lo``, ``hi``)."""
        w = self.job.window
        lo, hi = (w.earliest, w.latest) if w is not None else OPEN_WINDOW
        return {"lo": lo, "hi": hi}

    @property
    def labels(self) -> bool:
        """The mapping takes segment labels from the data (``labels: auto``)."""
        spec = self.job.source.segment
        return self.target == "experiences" and spec is not None and spec.labels == "auto"


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
    checked = compiler(job, relation).sql()
    messages = f"SELECT {ROW}, entry, message, bad_value FROM ({checked}) WHERE code IS NOT NULL"
    target = "outcomes" if job.source.kind == "outcome" else "experiences"
    staged = _scored(job, comp.sql()) if target == "experiences" else _keyed(comp.sql())
    # The raw ids stop here: only their keys go on (and a narrower table is cheaper to copy).
    stage = f"SELECT * EXCLUDE (customer_id, anonymous_id), {_hashes(target)} FROM ({staged})"
    macro = "__gw_stage_" + hashlib.sha256(stage.encode()).hexdigest()[:16]
    return PreparedIngest(job, comp.ids_sql(), stage, target, cells, macro, messages)


def _paths(columns: list[str]) -> str:
    return "[" + ", ".join(lit('$."' + c.replace('"', '\\"') + '"') for c in columns) + "]"


def _json_cells(job: IngestJob) -> str:
    """Parse each raw JSON line once into the mapped columns (absent keys are empty cells).

    The JSON types of the typed columns (``job.types``) come along as one JSON list,
    ``__gw_types`` (null for an absent key).
    """
    columns = mapped_columns(job)
    picks = ", ".join(f"__gw_l[{i + 1}] AS {ident(c)}" for i, c in enumerate(columns))
    typed = [c for c, _ in job.types]
    types = (
        f", CASE WHEN __gw_ok THEN to_json(json_type({LINE}, {_paths(typed)})) END AS {TYPES}"
        if typed
        else ""
    )
    return (
        f"(SELECT {ROW}, __gw_ok, {picks}{types} FROM ("
        f"SELECT *, CASE WHEN __gw_ok THEN json_extract_string({LINE}, {_paths(columns)}) END AS __gw_l "
        "FROM ("
        f"SELECT *, CASE WHEN json_valid({LINE}) THEN json_type({LINE}) = 'OBJECT' ELSE FALSE END AS __gw_ok "
        f"FROM {CHUNK})))"
    )


_KEYS = (
    "LEFT JOIN __gw_keys ck ON ck.kind = 'customer' AND ck.id = m.customer_id "
    "LEFT JOIN __gw_keys ak ON ak.kind = 'anonymous' AND ak.id = m.anonymous_id"
)
_ERASED = "(coalesce(ck.erased, FALSE) OR coalesce(ak.erased, FALSE)) AS __gw_erased"
# An erased customer's event is suppressed whatever else is wrong with it: its raw payload
# must not be kept, even as a reject.
_SUPPRESS = (
    f"CASE WHEN __gw_erased THEN {lit(RejectCode.ERASED_CUSTOMER.value)} ELSE code END AS code, "
    f"CASE WHEN __gw_erased THEN {lit(ERASED_REASON)} ELSE message END AS message"
)


def _keyed(mapped: str) -> str:
    keyed = (
        f"SELECT m.*, ck.key AS customer_key, ak.key AS anonymous_key, {_ERASED} FROM ({mapped}) m {_KEYS}"
    )
    return f"SELECT * EXCLUDE (code, message, __gw_erased), {_SUPPRESS} FROM ({keyed})"


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
        f"SELECT m.*, ck.key AS customer_key, ak.key AS anonymous_key, {_ERASED}, {pick} "
        f"FROM ({mapped}) m {_KEYS} "
        f"LEFT JOIN {CURRENT} x1 ON {in_force.format(x='x1', seg='m.segment')} "
        f"LEFT JOIN {CURRENT} x2 ON {in_force.format(x='x2', seg=lit('all'))}"
    )
    sign = "(CASE x_direction WHEN 'higher' THEN 1.0 ELSE -1.0 END)"
    gap = score_sql("value", "x_adequate", "x_desired", sign, "expected")
    # An open promise (no value yet) is missed once it is due by the clock, pending before.
    gap["status"] = (
        f"(CASE WHEN value IS NULL AND due_at IS NOT NULL THEN "
        f"CASE WHEN due_at <= {ASOF}::TIMESTAMPTZ THEN -1 END ELSE {gap['status']} END)::TINYINT"
    )
    no_exp = lit(RejectCode.NO_EXPECTATION.value)
    no_exp_msg = (
        "'no expectation is in force for ' || moment || ' / ' || segment || ' / ' || metric || ' on ' "
        "|| strftime(period, '%Y-%m-%d') || ' (neither for the segment nor for ''all'')'"
    )
    erased = lit(RejectCode.ERASED_CUSTOMER.value)
    return (
        f"SELECT * EXCLUDE (code, message, x_id, x_adequate, x_desired, x_direction, __gw_erased), "
        f"CASE WHEN __gw_erased THEN {erased} WHEN code IS NULL AND x_id IS NULL THEN {no_exp} "
        "ELSE code END AS code, "
        f"CASE WHEN __gw_erased THEN {lit(ERASED_REASON)} "
        f"WHEN code IS NULL AND x_id IS NULL THEN {no_exp_msg} "
        "ELSE message END AS message, "
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
        if prep.labels:  # the source's labels so far (the stage and its messages read the same)
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {LABELS} AS SELECT DISTINCT segment FROM experiences "
                "WHERE source = $source",
                {"source": source},
            )
        if not defined:
            con.execute(prep.stage_macro())
        stage = (
            "CREATE OR REPLACE TEMP TABLE __gw_stage AS SELECT * FROM "
            f"{prep.macro}($late::DATE, $asof::TIMESTAMPTZ, $lo::TIMESTAMPTZ, $hi::TIMESTAMPTZ)"
        )
        con.execute(stage, {"late": prep.job.closed_through, "asof": prep.job.as_of or now, **prep.window()})
        hashes = None
        probe = "key_hash IN (SELECT key_hash FROM ok)"
        if known is not None:
            staged = con.sql("SELECT key_hash FROM __gw_stage WHERE code IS NULL").fetchnumpy()
            hashes = np.asarray(staged["key_hash"], dtype=np.uint64)
            if not known.might_contain(hashes).any():
                probe = "FALSE"  # every event is new to the store: only repeats within the chunk remain
        open_ = "value IS NULL" if prep.target == "experiences" else "FALSE"
        con.execute(_DEDUPE.format(target=prep.target, probe=probe, open=open_), {"source": source})
        _insert(con, prep, now)
        if known is not None and hashes is not None:
            known.add(hashes)
        counts = _counts(con)
        if counts.rejected:  # most chunks have none: skip the reject statements
            con.execute(
                _rejects(prep, _raw_columns(con, chunk)),
                {"source": source, "file": prep.job.file, **prep.window()},
            )
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
    # Nobody erased (the usual case): no probe of the suppression list for every id.
    anyone = con.execute("SELECT EXISTS (SELECT 1 FROM erased)").fetchall()[0][0]
    erased = "key IN (SELECT customer_key FROM erased)" if anyone else "FALSE"
    con.execute(
        "CREATE OR REPLACE TEMP TABLE __gw_keys AS "
        f"SELECT *, {erased} AS erased "
        f"FROM (SELECT ids.id, ids.kind, coalesce(i.customer_key, {hmac_sql('ids.id', KEY_CHARS)}) AS key, "
        f"i.customer_key IS NULL AS new FROM ({prep.ids}) ids "
        "LEFT JOIN identities i ON i.customer_id = ids.id AND i.kind = ids.kind)",
        {"ipad": pads[0], "opad": pads[1]},
    )
    # An erased customer is never linked again: no identity row for them.
    con.execute(
        "INSERT INTO identities SELECT key, id, kind, $now FROM __gw_keys WHERE new AND NOT erased",
        {"now": now},
    )


# Rows that are not plainly new: an event id seen twice in the chunk, or already stored.
# Within the chunk the first occurrence stands for the others; the probe of the stored
# table runs on the 64-bit key hash (integers), the id itself settles the rare collision.
# A stored open promise (no value yet) is not final: a new payload for it is an 'update'
# (the stored row is replaced), not a conflict.
_DEDUPE = """
CREATE OR REPLACE TEMP TABLE __gw_dup AS
WITH ok AS (SELECT pos, key_hash, event_id, payload_hash FROM __gw_stage WHERE code IS NULL),
multi AS (SELECT key_hash FROM ok GROUP BY key_hash HAVING count(*) > 1),
old AS (SELECT key_hash, event_id, payload_hash, {open} AS open FROM {target}
        WHERE source = $source AND {probe}),
cand AS (SELECT * FROM ok
         WHERE key_hash IN (SELECT key_hash FROM multi) OR key_hash IN (SELECT key_hash FROM old)),
ranked AS (SELECT *, row_number() OVER w AS rn, first_value(payload_hash) OVER w AS first_hash FROM cand
           WINDOW w AS (PARTITION BY key_hash, event_id ORDER BY pos))
SELECT r.pos, r.event_id, CASE
    WHEN r.rn > 1 THEN CASE WHEN r.payload_hash = r.first_hash THEN 'duplicate' ELSE 'conflict' END
    WHEN o.payload_hash IS NULL THEN 'accepted'
    WHEN o.payload_hash = r.payload_hash THEN 'duplicate'
    WHEN o.open THEN 'update' ELSE 'conflict' END AS outcome
FROM ranked r LEFT JOIN old o ON o.key_hash = r.key_hash AND o.event_id = r.event_id
"""


def _insert(con: Any, prep: PreparedIngest, now: dt.datetime) -> None:
    columns = EXPERIENCE_COLUMNS if prep.target == "experiences" else OUTCOME_COLUMNS
    extra = "" if prep.target == "experiences" else ", $outcome AS outcome"
    params: dict[str, Any] = {"now": now, "source": prep.job.source_name}
    if prep.target == "outcomes":
        params["outcome"] = prep.job.source.outcome
    else:  # an open promise kept or broken since: its stored row is replaced, never counted twice
        con.execute(
            "DELETE FROM experiences WHERE source = $source AND value IS NULL AND key_hash IN "
            "(SELECT s.key_hash FROM __gw_stage s JOIN __gw_dup d ON d.pos = s.pos "
            "WHERE d.outcome = 'update') "
            "AND event_id IN (SELECT event_id FROM __gw_dup WHERE outcome = 'update')",
            {"source": prep.job.source_name},
        )
    con.execute(
        f"INSERT INTO {prep.target} BY NAME SELECT {columns}, $source AS source, $now AS ingested_at{extra} "
        "FROM __gw_stage s WHERE code IS NULL AND NOT EXISTS "
        "(SELECT 1 FROM __gw_dup d WHERE d.pos = s.pos AND d.outcome NOT IN ('accepted', 'update'))",
        params,
    )


def _raw_columns(con: Any, chunk: pa.Table) -> list[tuple[str, str]]:
    """Per column of the file: its key in the raw row's JSON and the name DuckDB binds it to.

    DuckDB renames what SQL cannot name: a header cell left empty (pandas' index column, as in
    the Olist export) becomes ``v0``-like, a repeated name ``x_1``; such a column is keyed by
    DuckDB's name so that the raw row keeps every cell under a distinct key.
    """
    bound = [d[0] for d in con.execute(f"SELECT * FROM {CHUNK} LIMIT 0").description]
    seen: set[str] = set()
    out: list[tuple[str, str]] = []
    for name, sql_name in zip(chunk.column_names, bound, strict=True):
        if name == ROW:
            continue
        key = name if name and name not in seen else sql_name
        seen.add(name)
        out.append((key, sql_name))
    return out


def _raw_json(prep: PreparedIngest, columns: list[tuple[str, str]]) -> str:
    if prep.job.layout == "jsonl":
        return f"CASE WHEN json_valid(c.{LINE}) THEN c.{LINE}::JSON ELSE to_json(c.{LINE}) END"
    pairs = ", ".join(f"{lit(key)}, c.{ident(name)}" for key, name in columns)
    return f"json_object({pairs})"


def _rejects(prep: PreparedIngest, columns: list[tuple[str, str]]) -> str:
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
        f"coalesce(s.customer_key, s.anonymous_key) AS customer_key, "
        "CASE WHEN s.outcome = 'conflict' THEN NULL ELSE left(mm.bad_value, 200) END AS value "
        f"FROM ({bad}) s JOIN {CHUNK} c ON c.{ROW} = s.{ROW} "
        f"LEFT JOIN ({prep.messages}) mm ON mm.{ROW} = s.{ROW} AND mm.entry = s.entry"
    )


def upsert_rejects(con: Any, now: dt.datetime) -> None:
    """Store ``__gw_rej_in`` rows once per (source, raw row, event id, reason); count repeats."""
    # Suppressed events of erased customers are counted, never stored (not even their reject).
    con.execute(
        "CREATE OR REPLACE TEMP TABLE __gw_rej AS SELECT source, event_id, any_value(file) AS file, "
        "min(row_number) AS row_number, any_value(raw) AS raw, any_value(reason) AS reason, reason_code, "
        "any_value(customer_key) AS customer_key, any_value(value) AS value, raw_hash, "
        "count(*)::INTEGER AS times FROM "
        f"(SELECT *, {hash64('CAST(raw AS VARCHAR)')} AS raw_hash FROM __gw_rej_in "
        f"WHERE reason_code <> {lit(RejectCode.ERASED_CUSTOMER.value)}) "
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
        "INSERT INTO rejected BY NAME SELECT source, event_id, file, row_number, raw, reason, reason_code, "
        "customer_key, $now AS first_seen, $now AS last_seen, times, raw_hash, value FROM __gw_rej j "
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
        if outcome == "update":
            counts.updated += n
        if outcome in ("accepted", "update"):
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
            f"{lit(RejectCode.MALFORMED_ROW.value)} AS reason_code, NULL::VARCHAR AS customer_key, "
            "left(text, 200) AS value "
            "FROM __gw_malformed",
            {"source": job.source_name, "file": job.file},
        )
        upsert_rejects(con, now)
    finally:
        with contextlib.suppress(duckdb.Error):
            con.unregister("__gw_malformed")
