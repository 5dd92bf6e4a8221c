"""Webhook deliveries survive a crash: alerts wait in an outbox until every webhook was tried."""

from __future__ import annotations

import datetime as dt
from typing import Any

from gapwatch.adapters.duckdb_store import DuckDBStore
from gapwatch.api import Runtime
from gapwatch.config import default_config
from gapwatch.domain.alerts import Severity, SignalFacts
from gapwatch.quality.alerts import raise_alert
from gapwatch.quality.webhooks import (
    WebhookKind,
    create_webhook,
    list_deliveries,
    pending_alerts,
    queue_deliveries,
)
from gapwatch.settings import Settings

FACTS = SignalFacts(
    moment="delivery",
    segment="premium",
    metric="delivery_days",
    period=dt.date(2026, 3, 2),
    rule="beyond_limits",
    chart="p",
    statistic=0.4,
    center=0.1,
    lcl=0.0,
    ucl=0.3,
    n=40,
    baseline_start=dt.date(2026, 1, 1),
    baseline_end=dt.date(2026, 1, 28),
    worse=True,
)


def test_an_alert_raised_before_a_crash_is_delivered_after_the_restart() -> None:
    posted: list[dict[str, Any]] = []

    def post(url: str, body: dict[str, Any], timeout: float) -> int:
        posted.append(body)
        return 200

    config = default_config()
    store = DuckDBStore(timezone=config.workspace.timezone)
    first = Runtime(Settings(), config, store, post=post)
    hook = first.write(
        lambda con: create_webhook(
            con,
            silo="delivery",
            url="http://127.0.0.1:9/hook",
            kind=WebhookKind.JSON,
            min_severity=Severity.INFO,
            actor="test",
        )
    )

    def raise_and_queue(con: Any) -> str:  # what ingest does in the transaction that raises an alert
        alert = raise_alert(con, FACTS, first.lifecycle, config)
        assert alert is not None
        queue_deliveries(con, [alert])
        return alert.id

    alert_id = first.write(raise_and_queue)
    first.close()  # the process "dies" before its notifier was handed the alert
    assert posted == []

    second = Runtime(Settings(), config, store, post=post)  # a restart on the same store
    try:
        second.notifier.drain()
        assert [body["alert"]["id"] for body in posted] == [alert_id]
        with second.reader() as con:
            assert pending_alerts(con) == []
            assert [d.status for d in list_deliveries(con, hook.id)] == ["delivered"]
    finally:
        second.close()
        store.close()
