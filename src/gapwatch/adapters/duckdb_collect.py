"""What the collect room stores besides experiences: behaviour, identity links, rejected messages.

Every function runs on the writer connection inside the caller's transaction and works
set-wise on Arrow tables (no row loops). Raw customer and anonymous ids are keyed here, in
SQL, with the very expression the chunk ingest uses (same trimming, same HMAC), so a
visitor's key from a tracked page view is the key of the same id in a file or a webhook;
new ids are recorded in ``identities`` like the chunk ingest records them.

Tables (DDL in :mod:`gapwatch.adapters.duckdb_schema`):

* ``behaviour``: tracked calls that are no moment of truth (page views, unmapped track
  events, identify, screen, group, alias), unique per (``source``, ``message_id``): a
  repeated message id is a duplicate and the first one is kept. As for experiences, the
  live service's Bloom filter of stored id hashes (:mod:`~gapwatch.adapters.key_filter`)
  spares the scan of the stored ids when every message of a batch is new.
* ``identity_links``: one row per (``anonymous_key``, ``customer_key``) pair a message
  joined (``identify``, or any message carrying both ids); pseudonymous keys only.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from gapwatch.adapters.duckdb_ingest import upsert_rejects
from gapwatch.adapters.duckdb_sql import hash64, hmac_sql
from gapwatch.adapters.key_filter import KeyFilter
from gapwatch.domain.bounds import IdCase, normalised_id_sql
from gapwatch.domain.experience import KEY_CHARS

IDS_SCHEMA = pa.schema([pa.field("raw", pa.string()), pa.field("kind", pa.string())])
BEHAVIOUR_SCHEMA = pa.schema(
    [
        pa.field("pos", pa.int64()),
        pa.field("message_id", pa.string()),
        pa.field("type", pa.string()),
        pa.field("name", pa.string()),
        pa.field("customer_id", pa.string()),
        pa.field("anonymous_id", pa.string()),
        pa.field("occurred_at", pa.timestamp("us", tz="UTC")),
        pa.field("properties", pa.string()),
    ]
)
LINKS_SCHEMA = pa.schema([pa.field("customer_id", pa.string()), pa.field("anonymous_id", pa.string())])
REJECTS_SCHEMA = pa.schema(
    [
        pa.field("row_number", pa.int64()),
        pa.field("event_id", pa.string()),
        pa.field("raw", pa.string()),
        pa.field("reason", pa.string()),
        pa.field("reason_code", pa.string()),
        pa.field("customer_id", pa.string()),
        pa.field("anonymous_id", pa.string()),
    ]
)


@contextlib.contextmanager
def _registered(con: Any, **tables: pa.Table) -> Any:
    for name, table in tables.items():
        con.register(name, table)
    try:
        yield con
    finally:
        for name in tables:
            with contextlib.suppress(duckdb.Error):
                con.unregister(name)


def _has_erased(con: Any) -> bool:
    found = con.execute("SELECT 1 FROM information_schema.tables WHERE table_name = 'erased'").fetchall()
    return bool(found)  # fetchall: DuckDB refuses other work while a result is half read


def _key_ids(con: Any, pads: tuple[bytes, bytes], ids: str, id_case: IdCase) -> None:
    """``__gw_ckeys(raw, kind, id, key, new, erased)`` for the (raw, kind) pairs of relation ``ids``.

    The ids are normalised as the chunk ingest does (:func:`normalised_id_sql`), so a tracked
    customer and the same customer in a file or an event are one identity.
    """
    erased = "coalesce(k.key IN (SELECT customer_key FROM erased), FALSE)" if _has_erased(con) else "FALSE"
    normalised = normalised_id_sql("raw", id_case)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE __gw_ckeys AS "
        f"SELECT k.*, {erased} AS erased FROM ("
        f"SELECT c.raw, c.kind, c.id, coalesce(i.customer_key, {hmac_sql('c.id', KEY_CHARS)}) AS key, "
        "i.customer_key IS NULL AS new FROM "
        f"(SELECT DISTINCT raw, kind, {normalised} AS id FROM {ids} WHERE raw IS NOT NULL) c "
        "LEFT JOIN identities i ON i.customer_id = c.id AND i.kind = c.kind WHERE c.id IS NOT NULL) k",
        {"ipad": pads[0], "opad": pads[1]},
    )


def erased_ids(con: Any, ids: pa.Table, pads: tuple[bytes, bytes], id_case: IdCase) -> list[tuple[str, str]]:
    """The (raw id, kind) pairs of ``ids`` whose key is on the suppression list (nothing is written)."""
    if not _has_erased(con) or not con.execute("SELECT 1 FROM erased LIMIT 1").fetchall():
        return []  # the usual case: nobody was erased, no id needs keying
    with _registered(con, __gw_cids_arrow=ids.cast(IDS_SCHEMA)):
        _key_ids(con, pads, "__gw_cids_arrow", id_case)
        found = con.execute("SELECT raw, kind FROM __gw_ckeys WHERE erased").fetchall()
    return [(str(r), str(k)) for r, k in found]


def write_collected(
    con: Any,
    source: str,
    behaviour: pa.Table,
    links: pa.Table,
    rejects: pa.Table,
    pads: tuple[bytes, bytes],
    now: dt.datetime,
    file: str,
    known: KeyFilter | None = None,
    id_case: IdCase = "lower",
) -> pa.Table:
    """Store behaviour rows, identity links and rejected messages; each behaviour row's status.

    Returns ``(pos, status)`` for every behaviour row: ``accepted`` (stored now) or
    ``duplicate`` (its message id was stored before, or earlier in the same batch).
    """
    behaviour, links, rejects = (
        behaviour.cast(BEHAVIOUR_SCHEMA),
        links.cast(LINKS_SCHEMA),
        rejects.cast(REJECTS_SCHEMA),
    )
    with _registered(con, __gw_b=behaviour, __gw_l=links, __gw_r=rejects):
        ids = " UNION ALL ".join(
            f"SELECT customer_id AS raw, 'customer' AS kind FROM {t} UNION ALL "
            f"SELECT anonymous_id, 'anonymous' FROM {t}"
            for t in ("__gw_b", "__gw_l", "__gw_r")
        )
        _key_ids(con, pads, f"({ids})", id_case)
        con.execute(
            "INSERT INTO identities SELECT key, id, kind, $now FROM __gw_ckeys WHERE new", {"now": now}
        )
        statuses = _behaviour(con, source, now, known)
        _links(con, source, now)
        if rejects.num_rows:
            _rejects(con, source, file, now)
    return statuses


_KEYS = (
    "LEFT JOIN __gw_ckeys ck ON ck.kind = 'customer' AND ck.raw = {t}.customer_id "
    "LEFT JOIN __gw_ckeys ak ON ak.kind = 'anonymous' AND ak.raw = {t}.anonymous_id"
)


def _behaviour(con: Any, source: str, now: dt.datetime, known: KeyFilter | None) -> pa.Table:
    con.execute(
        "CREATE OR REPLACE TEMP TABLE __gw_bs AS SELECT b.pos, b.message_id, b.type, b.name, "
        "ck.key AS customer_key, ak.key AS anonymous_key, b.occurred_at, b.properties, "
        f"{hash64('b.message_id')} AS key_hash, "
        "row_number() OVER (PARTITION BY b.message_id ORDER BY b.pos) > 1 AS repeated "
        f"FROM __gw_b b {_KEYS.format(t='b')}"
    )
    hashes = None
    if known is not None:
        hashes = np.asarray(con.sql("SELECT key_hash FROM __gw_bs").fetchnumpy()["key_hash"], dtype=np.uint64)
    if hashes is None or known is None or known.might_contain(hashes).any():  # else: all new to the store
        con.execute(
            "UPDATE __gw_bs b SET repeated = TRUE WHERE EXISTS (SELECT 1 FROM behaviour s WHERE "
            "s.source = $source AND s.key_hash = b.key_hash AND s.message_id = b.message_id)",
            {"source": source},
        )
    con.execute(
        "INSERT INTO behaviour SELECT $source, message_id, type, name, customer_key, anonymous_key, "
        "occurred_at, CAST(occurred_at AS DATE), properties::JSON, $now, key_hash FROM __gw_bs "
        "WHERE NOT repeated",
        {"source": source, "now": now},
    )
    if known is not None and hashes is not None:
        known.add(hashes)
    table: pa.Table = con.sql(
        "SELECT pos, CASE WHEN repeated THEN 'duplicate' ELSE 'accepted' END AS status FROM __gw_bs"
    ).to_arrow_table()
    return table


def _links(con: Any, source: str, now: dt.datetime) -> None:
    con.execute(
        "INSERT INTO identity_links SELECT DISTINCT ak.key, ck.key, $source, $now FROM __gw_l l "
        f"{_KEYS.format(t='l')} WHERE ak.key IS NOT NULL AND ck.key IS NOT NULL AND NOT EXISTS "
        "(SELECT 1 FROM identity_links x WHERE x.anonymous_key = ak.key AND x.customer_key = ck.key)",
        {"source": source, "now": now},
    )


def _rejects(con: Any, source: str, file: str, now: dt.datetime) -> None:
    con.execute(
        "CREATE OR REPLACE TEMP TABLE __gw_rej_in AS SELECT $source AS source, r.event_id, $file AS file, "
        "r.row_number, CASE WHEN json_valid(r.raw) THEN r.raw::JSON ELSE to_json(r.raw) END AS raw, "
        "r.reason, r.reason_code, coalesce(ck.key, ak.key) AS customer_key, NULL::VARCHAR AS value "
        f"FROM __gw_r r {_KEYS.format(t='r')}",
        {"source": source, "file": file},
    )
    upsert_rejects(con, now)
