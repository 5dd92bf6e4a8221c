"""The ``perception_responses`` table: perception survey answers, deduplicated, rejects kept.

An answer's identity is (source, respondent, item, kind, answered_at): sent again with the
same score it is a duplicate, with another score a conflict (rejected and kept). Respondent
ids are stored as the workspace's keyed pseudonyms (a customer's is the same key as in
``experiences``, so erasure and the customer view reach it). Written in one transaction.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pyarrow as pa

from gapwatch.adapters.duckdb_ingest import upsert_rejects
from gapwatch.domain.experience import IngestCounts
from gapwatch.domain.perceptions import PerceptionBatch

__all__ = ["DDL", "ensure_table", "has_table", "read_answers", "write_batch"]

DDL = """
CREATE TABLE IF NOT EXISTS perception_responses (
    source VARCHAR NOT NULL,
    respondent_key VARCHAR NOT NULL,
    perspective VARCHAR NOT NULL,
    silo VARCHAR NOT NULL,
    dimension VARCHAR NOT NULL,
    item VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    score DOUBLE NOT NULL,
    answered_at TIMESTAMPTZ NOT NULL,
    ingested_at TIMESTAMPTZ NOT NULL
);
"""
KEY = ("source", "respondent_key", "item", "kind", "answered_at")


def ensure_table(con: Any) -> None:
    con.execute(DDL)


def write_batch(
    con: Any,
    source: str,
    file: str,
    batch: PerceptionBatch,
    pseudonym: Callable[[str], str],
    now: dt.datetime,
) -> IngestCounts:
    """Store a validated batch (``con`` inside a transaction); counts of answers."""
    ensure_table(con)
    counts = IngestCounts()
    rejects: list[dict[str, Any]] = [
        {
            "row_number": r.row_number,
            "raw": r.raw,
            "code": r.code,
            "reason": r.reason,
            "key": pseudonym(r.respondent_id) if r.respondent_id else None,
        }
        for r in batch.rejected
    ]
    fresh = pa.table(
        {
            "source": pa.array([source] * len(batch.answers), pa.string()),
            "respondent_key": pa.array([pseudonym(a.respondent_id) for a in batch.answers], pa.string()),
            "perspective": pa.array([a.perspective for a in batch.answers], pa.string()),
            "silo": pa.array([a.silo for a in batch.answers], pa.string()),
            "dimension": pa.array([a.dimension for a in batch.answers], pa.string()),
            "item": pa.array([a.item for a in batch.answers], pa.string()),
            "kind": pa.array([a.kind for a in batch.answers], pa.string()),
            "score": pa.array([a.score for a in batch.answers], pa.float64()),
            "answered_at": pa.array([a.answered_at for a in batch.answers], pa.timestamp("us", tz="UTC")),
            "row_number": pa.array([a.row_number for a in batch.answers], pa.int64()),
        }
    )
    con.register("__gw_pr_in", fresh)
    try:
        # first occurrence per key in the file wins; later ones are duplicates or conflicts of it
        con.execute(
            "CREATE OR REPLACE TEMP TABLE __gw_pr AS SELECT *, row_number() OVER (PARTITION BY "
            f"{', '.join(KEY)} ORDER BY row_number) AS nth FROM __gw_pr_in"
        )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE __gw_pr_judged AS SELECT i.*, CASE "
            "WHEN s.score IS NOT NULL AND s.score = i.score THEN 'duplicate' "
            "WHEN s.score IS NOT NULL THEN 'conflict' "
            "WHEN i.nth > 1 AND f.score = i.score THEN 'duplicate' "
            "WHEN i.nth > 1 THEN 'conflict' ELSE 'accepted' END AS verdict FROM __gw_pr i "
            "LEFT JOIN perception_responses s ON "
            + " AND ".join(f"s.{k} = i.{k}" for k in KEY)
            + " LEFT JOIN (SELECT * FROM __gw_pr WHERE nth = 1) f ON "
            + " AND ".join(f"f.{k} = i.{k}" for k in KEY)
        )
        con.execute(
            "INSERT INTO perception_responses SELECT source, respondent_key, perspective, silo, dimension, "
            "item, kind, score, answered_at, $now FROM __gw_pr_judged WHERE verdict = 'accepted'",
            {"now": now},
        )
        for verdict, n in con.execute("SELECT verdict, count(*) FROM __gw_pr_judged GROUP BY ALL").fetchall():
            if verdict == "accepted":
                counts.accepted += n
            elif verdict == "duplicate":
                counts.duplicate += n
        for row_number, key, score in con.execute(
            "SELECT row_number, respondent_key, score FROM __gw_pr_judged WHERE verdict = 'conflict'"
        ).fetchall():
            answer = next(a for a in batch.answers if a.row_number == row_number)
            rejects.append(
                {
                    "row_number": row_number,
                    "raw": _raw(answer),
                    "code": "conflict",
                    "reason": f"this answer was already stored with another score (now {score:g})",
                    "key": key,
                }
            )
    finally:
        con.unregister("__gw_pr_in")
    _reject(con, source, file, rejects, now, counts)
    return counts


def _raw(answer: Any) -> dict[str, Any]:
    return {
        "respondent_id": answer.respondent_id,
        "perspective": answer.perspective,
        "silo": answer.silo,
        "dimension": answer.dimension,
        "item": answer.item,
        "kind": answer.kind,
        "score": answer.score,
        "answered_at": answer.answered_at.isoformat(),
    }


def _reject(
    con: Any, source: str, file: str, rejects: list[dict[str, Any]], now: dt.datetime, counts: IngestCounts
) -> None:
    counts.rejected += len(rejects)
    for r in rejects:
        counts.reasons[r["code"]] = counts.reasons.get(r["code"], 0) + 1
    if not rejects:
        return
    table = pa.table(
        {
            "row_number": pa.array([r["row_number"] for r in rejects], pa.int64()),
            "raw": pa.array(
                [json.dumps(r["raw"], default=str, ensure_ascii=False) for r in rejects], pa.string()
            ),
            "reason": pa.array([r["reason"] for r in rejects], pa.string()),
            "reason_code": pa.array([r["code"] for r in rejects], pa.string()),
            "customer_key": pa.array([r["key"] for r in rejects], pa.string()),
        }
    )
    con.register("__gw_pr_rej", table)
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE __gw_rej_in AS SELECT $source AS source, "
            "NULL::VARCHAR AS event_id, $file AS file, row_number, raw::JSON AS raw, reason, reason_code, "
            "customer_key, NULL::VARCHAR AS value FROM __gw_pr_rej",
            {"source": source, "file": file},
        )
        upsert_rejects(con, now)
    finally:
        con.unregister("__gw_pr_rej")


def has_table(con: Any, name: str) -> bool:
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ? AND table_schema = 'main'",
        [name],
    ).fetchall()
    return bool(found and found[0][0])


COLUMNS = "respondent_key, perspective, silo, dimension, item, kind, score, answered_at"


def read_answers(con: Any) -> pa.Table:
    """Every stored answer (pseudonymous respondent keys); none before the first ingest."""
    if not has_table(con, "perception_responses"):
        con.execute(
            DDL.replace(
                "CREATE TABLE IF NOT EXISTS perception_responses",
                "CREATE TEMP TABLE IF NOT EXISTS perception_responses",
            )
        )
    table: pa.Table = con.sql(
        f"SELECT {COLUMNS} FROM perception_responses ORDER BY answered_at"
    ).to_arrow_table()
    return table
