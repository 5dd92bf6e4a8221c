"""Tables of the live service: alerts, cases and their audit trail, tokens, webhooks, erasures.

Created at service start-up (idempotent), next to the store's own tables. Kept apart from
the store schema so that the store and the service can evolve separately.
"""

from __future__ import annotations

from gapwatch.sqlport import Sql

SERVICE_DDL: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS tokens (
        id VARCHAR PRIMARY KEY, hash VARCHAR NOT NULL, role VARCHAR NOT NULL, silo VARCHAR,
        source VARCHAR, label VARCHAR, created_at TIMESTAMPTZ NOT NULL, revoked_at TIMESTAMPTZ)""",
    """CREATE TABLE IF NOT EXISTS cases (
        id VARCHAR PRIMARY KEY, silo VARCHAR NOT NULL, stage VARCHAR NOT NULL, moment VARCHAR NOT NULL,
        segment VARCHAR NOT NULL, metric VARCHAR NOT NULL, state VARCHAR NOT NULL,
        opened_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL,
        acknowledged_by VARCHAR, acknowledged_at TIMESTAMPTZ, cause VARCHAR, action_kind VARCHAR,
        action VARCHAR, expectation_version VARCHAR, verify_from DATE, closed_at TIMESTAMPTZ,
        reopen_count INTEGER NOT NULL DEFAULT 0, last_signal_period DATE)""",
    """CREATE TABLE IF NOT EXISTS case_events (
        id VARCHAR PRIMARY KEY, case_id VARCHAR NOT NULL, seq INTEGER NOT NULL,
        recorded_at TIMESTAMPTZ NOT NULL,
        actor VARCHAR NOT NULL, action VARCHAR NOT NULL, from_state VARCHAR, to_state VARCHAR NOT NULL,
        detail VARCHAR NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS alerts (
        id VARCHAR PRIMARY KEY, signal_key VARCHAR NOT NULL, case_id VARCHAR NOT NULL,
        silo VARCHAR NOT NULL, stage VARCHAR NOT NULL, moment VARCHAR NOT NULL, segment VARCHAR NOT NULL,
        metric VARCHAR NOT NULL, period DATE NOT NULL, rule VARCHAR NOT NULL, chart VARCHAR NOT NULL,
        statistic DOUBLE NOT NULL, center DOUBLE, lcl DOUBLE, ucl DOUBLE, n BIGINT NOT NULL,
        baseline_start DATE, baseline_end DATE, provisional BOOLEAN NOT NULL, arl0 DOUBLE,
        false_alarm_rate DOUBLE NOT NULL, adequate DOUBLE, desired DOUBLE, kano VARCHAR,
        severity VARCHAR NOT NULL, verdict VARCHAR, verdict_by VARCHAR,
        verdict_at TIMESTAMPTZ, created_at TIMESTAMPTZ NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS webhooks (
        id VARCHAR PRIMARY KEY, silo VARCHAR NOT NULL, url VARCHAR NOT NULL, kind VARCHAR NOT NULL,
        min_severity VARCHAR NOT NULL, created_by VARCHAR NOT NULL, created_at TIMESTAMPTZ NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS webhook_deliveries (
        id VARCHAR PRIMARY KEY, webhook_id VARCHAR NOT NULL, alert_id VARCHAR NOT NULL,
        attempts INTEGER NOT NULL, status VARCHAR NOT NULL, http_status INTEGER, error VARCHAR,
        attempted_at TIMESTAMPTZ NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS webhook_outbox (
        alert_id VARCHAR PRIMARY KEY, queued_at TIMESTAMPTZ NOT NULL)""",
    # the web app's sessions and one-time sign-in links (gapwatch.auth.sessions): hashes only
    """CREATE TABLE IF NOT EXISTS web_sessions (
        id_hash VARCHAR PRIMARY KEY, token_id VARCHAR NOT NULL, csrf VARCHAR NOT NULL,
        created_at TIMESTAMPTZ NOT NULL, expires_at TIMESTAMPTZ NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS web_login_links (
        code_hash VARCHAR PRIMARY KEY, token_id VARCHAR NOT NULL, expires_at TIMESTAMPTZ NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS erased (
        customer_key VARCHAR PRIMARY KEY, erased_at TIMESTAMPTZ NOT NULL, erased_by VARCHAR NOT NULL)""",
)


def ensure_service_schema(con: Sql) -> None:
    """Create the service tables when missing (safe to run at every start)."""
    for ddl in SERVICE_DDL:
        con.execute(ddl)
