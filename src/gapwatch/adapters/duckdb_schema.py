"""The store's own tables (DuckDB DDL, idempotent: run at every writable open).

Analytics tables hold only keyed pseudonymous ids; ``identities`` is the one table with
real identifiers; ``erased`` is the suppression list (keyed ids), which every ingest path
checks. Other tables (``stream_periods``, ``signals``, ``alerts``, ``cases`` …)
are created by the modules that own them. Kept in Python, not a ``.sql`` file, so that
it ships in every build without package-data rules.

``experiences.key_hash`` / ``outcomes.key_hash`` (hash of the event id),
``behaviour.key_hash`` (of the message id) and ``rejected.raw_hash`` are internal: they
keep the dedupe probes on integers.
"""

from __future__ import annotations

SCHEMA = """
CREATE TABLE IF NOT EXISTS gapwatch_meta (
    key VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS expectations (
    id INTEGER NOT NULL,
    moment VARCHAR NOT NULL,
    segment VARCHAR NOT NULL,
    metric VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    adequate DOUBLE NOT NULL,
    desired DOUBLE NOT NULL,
    direction VARCHAR NOT NULL,
    unit VARCHAR NOT NULL,
    kano VARCHAR NOT NULL,
    valid_from DATE NOT NULL,
    valid_to DATE,
    recorded_at TIMESTAMPTZ NOT NULL,
    superseded_at TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS experiences (
    source VARCHAR NOT NULL,
    event_id VARCHAR NOT NULL,
    customer_key VARCHAR,
    anonymous_key VARCHAR,
    occurred_at TIMESTAMPTZ NOT NULL,
    period DATE NOT NULL,
    moment VARCHAR NOT NULL,
    stage VARCHAR NOT NULL,
    silo VARCHAR NOT NULL,
    segment VARCHAR NOT NULL,
    metric VARCHAR NOT NULL,
    value DOUBLE,
    expected DOUBLE,
    expectation_id INTEGER NOT NULL,
    adequate DOUBLE NOT NULL,
    desired DOUBLE NOT NULL,
    gap DOUBLE,
    gap_norm DOUBLE,
    status TINYINT,
    text VARCHAR,
    attributes JSON,
    payload_hash UBIGINT NOT NULL,
    ingested_at TIMESTAMPTZ NOT NULL,
    late BOOLEAN NOT NULL,
    key_hash UBIGINT NOT NULL,
    due_at TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS outcomes (
    source VARCHAR NOT NULL,
    event_id VARCHAR NOT NULL,
    customer_key VARCHAR,
    anonymous_key VARCHAR,
    occurred_at TIMESTAMPTZ NOT NULL,
    period DATE NOT NULL,
    outcome VARCHAR NOT NULL,
    value DOUBLE NOT NULL,
    payload_hash UBIGINT NOT NULL,
    ingested_at TIMESTAMPTZ NOT NULL,
    key_hash UBIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS rejected (
    source VARCHAR NOT NULL,
    event_id VARCHAR,
    file VARCHAR NOT NULL,
    row_number BIGINT,
    raw JSON,
    reason VARCHAR NOT NULL,
    reason_code VARCHAR NOT NULL,
    customer_key VARCHAR,
    first_seen TIMESTAMPTZ NOT NULL,
    last_seen TIMESTAMPTZ NOT NULL,
    times INTEGER NOT NULL,
    raw_hash UBIGINT NOT NULL,
    value VARCHAR
);

CREATE TABLE IF NOT EXISTS identities (
    customer_key VARCHAR NOT NULL,
    customer_id VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    first_seen TIMESTAMPTZ NOT NULL
);

-- Tracked calls that are no moment of truth (collect/): unique per (source, message_id).
CREATE TABLE IF NOT EXISTS behaviour (
    source VARCHAR NOT NULL,
    message_id VARCHAR NOT NULL,
    type VARCHAR NOT NULL,
    name VARCHAR,
    customer_key VARCHAR,
    anonymous_key VARCHAR,
    occurred_at TIMESTAMPTZ NOT NULL,
    period DATE NOT NULL,
    properties JSON,
    received_at TIMESTAMPTZ NOT NULL,
    key_hash UBIGINT NOT NULL
);

-- Identity stitching: an anonymous visitor's key joined to a customer's key (identify, or a
-- message carrying both ids). Pseudonymous keys only; erasure deletes a customer's links.
CREATE TABLE IF NOT EXISTS identity_links (
    anonymous_key VARCHAR NOT NULL,
    customer_key VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    first_seen TIMESTAMPTZ NOT NULL
);

-- The person behind any key: a customer key is its own person; an anonymous key belongs to
-- the customer it was first linked to (a shared device may link several), else to itself.
CREATE OR REPLACE VIEW person_keys AS
SELECT anonymous_key AS key, first(customer_key ORDER BY first_seen, customer_key) AS person_key
FROM identity_links GROUP BY anonymous_key;
CREATE TABLE IF NOT EXISTS erased (
    customer_key VARCHAR PRIMARY KEY,
    erased_at TIMESTAMPTZ NOT NULL,
    erased_by VARCHAR NOT NULL
);
"""

# Columns added since a store's tables were first made, and the statements that add them
# in place (run once, when the column is missing). An open promise (a promised time with no
# outcome yet) has no value, gap or status until it falls due; ``due_at`` is the promised
# moment of an experience that carries one. ``rejected.value`` is the refused cell.
MIGRATIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "experiences",
        "due_at",
        (
            "ALTER TABLE experiences ADD COLUMN due_at TIMESTAMPTZ",
            "ALTER TABLE experiences ALTER COLUMN value DROP NOT NULL",
            "ALTER TABLE experiences ALTER COLUMN gap DROP NOT NULL",
            "ALTER TABLE experiences ALTER COLUMN status DROP NOT NULL",
        ),
    ),
    ("rejected", "value", ("ALTER TABLE rejected ADD COLUMN value VARCHAR",)),
)
