"""The ``text_signals`` table and the text streams' experiences.

``text_signals`` holds, per commented experience (its source and event id), the language, the
lexicon sentiment, the rule labels and the learned score, but no customer key and no text:
it reaches the customer only through the experience, so erasing the experience's text and
key leaves nothing that identifies the person.

Text streams are experiences of the reserved source ``text``: one per comment and text metric
(``comment_negative``, ``comment_complaint`` …) with value 1 when the comment carries the
signal, scored against a fixed zone (adequate 0.5, desired 0, lower is better), so a stream's
miss rate is the share of such comments and the ordinary charts and alerts watch it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa

from gapwatch.adapters.duckdb_perceptions import has_table
from gapwatch.adapters.duckdb_sql import PAYLOAD, hash64

__all__ = ["TEXT_SOURCE", "ensure_table", "pending_comments", "write_signals"]

TEXT_SOURCE = "text"
NO_EXPECTATION = -1
DDL = """
CREATE TABLE IF NOT EXISTS text_signals (
    source VARCHAR NOT NULL,
    event_id VARCHAR NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    period DATE NOT NULL,
    moment VARCHAR NOT NULL,
    silo VARCHAR NOT NULL,
    segment VARCHAR NOT NULL,
    language VARCHAR NOT NULL,
    sentiment DOUBLE,
    sentiment_label VARCHAR,
    intents VARCHAR[] NOT NULL,
    emotions VARCHAR[] NOT NULL,
    learned DOUBLE,
    analysed_at TIMESTAMPTZ NOT NULL
);
"""


def ensure_table(con: Any) -> None:
    con.execute(DDL)


def pending_comments(con: Any, limit: int) -> pa.Table:
    """Commented experiences not analysed yet, one per source row (a row's metrics share its comment)."""
    analysed = (
        "AND NOT EXISTS (SELECT 1 FROM text_signals t WHERE t.source = e.source AND t.event_id = e.event_id)"
        if has_table(con, "text_signals")
        else ""
    )
    query = (
        "SELECT source, min(event_id) AS event_id, customer_key, any_value(anonymous_key) AS anonymous_key, "
        "occurred_at, any_value(period) AS period, moment, any_value(stage) AS stage, "
        "any_value(silo) AS silo, "
        "any_value(segment) AS segment, text FROM experiences e "
        f"WHERE text IS NOT NULL AND source <> '{TEXT_SOURCE}' {analysed} "
        "GROUP BY source, customer_key, occurred_at, moment, text ORDER BY occurred_at LIMIT ?"
    )
    table: pa.Table = con.sql(query, params=[limit]).to_arrow_table()
    return table


def write_signals(con: Any, signals: pa.Table, streams: pa.Table, now: dt.datetime) -> None:
    """Store analysed comments and their stream experiences (``con`` inside a transaction)."""
    ensure_table(con)
    con.register("__gw_text_sig", signals)
    con.register("__gw_text_exp", streams)
    try:
        con.execute(
            "INSERT INTO text_signals SELECT source, event_id, occurred_at, period, moment, silo, segment, "
            "language, sentiment, sentiment_label, intents, emotions, learned, $now FROM __gw_text_sig",
            {"now": now},
        )
        payload = hash64(*PAYLOAD["experiences"])
        con.execute(
            "INSERT INTO experiences SELECT source, event_id, customer_key, anonymous_key, occurred_at, "
            "period, "
            "moment, stage, silo, segment, metric, value, NULL, "
            f"{NO_EXPECTATION}, 0.5, 0.0, 0.5 - value, (0.5 - value) / 0.5, "
            "(CASE WHEN value > 0.5 THEN -1 ELSE 0 END)::TINYINT, NULL, NULL, "
            f"{payload}, $now, false, {hash64('event_id')}, NULL FROM (SELECT *, NULL::VARCHAR AS text, "
            "NULL::JSON AS attributes, NULL::DOUBLE AS expected FROM __gw_text_exp) n "
            "WHERE NOT EXISTS (SELECT 1 FROM experiences x "
            "WHERE x.source = n.source AND x.event_id = n.event_id)",
            {"now": now},
        )
    finally:
        con.unregister("__gw_text_sig")
        con.unregister("__gw_text_exp")
