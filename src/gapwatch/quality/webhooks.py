"""Webhook subscriptions per silo and the payloads sent to them.

A silo subscribes a URL to its alerts, as plain JSON or as a Slack-compatible message
(``{"text": ...}``). Delivery itself happens off the request path in
:mod:`gapwatch.quality.delivery`; this module only stores subscriptions, builds payloads
and records what happened to each delivery.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from gapwatch.domain.alerts import Severity
from gapwatch.quality.alerts import Alert, AlertNotFound, get_alert
from gapwatch.sqlport import Sql, one, rows


class WebhookKind(StrEnum):
    JSON = "json"
    SLACK = "slack"


class WebhookNotFound(LookupError):
    """No webhook with that id."""


@dataclass(frozen=True, slots=True)
class Webhook:
    id: str
    silo: str
    url: str
    kind: WebhookKind
    min_severity: Severity
    created_by: str
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Delivery:
    id: str
    webhook_id: str
    alert_id: str
    attempts: int
    status: str  # delivered | failed
    http_status: int | None
    error: str | None
    attempted_at: dt.datetime


def _webhook(row: dict[str, Any]) -> Webhook:
    row = dict(row)
    row["kind"] = WebhookKind(row["kind"])
    row["min_severity"] = Severity(row["min_severity"])
    return Webhook(**row)


# -- the outbox: alerts whose webhooks have not all been tried yet -------------------------------------
def queue_deliveries(con: Sql, alerts: Sequence[Alert]) -> None:
    """Record ``alerts`` as awaiting delivery, in the transaction that raises them.

    A row leaves the outbox (:func:`delivery_done`) once every subscriber of its alert has
    been tried and the outcome recorded; a service that dies before that finds the alert in
    :func:`pending_alerts` at its next start and delivers it then (at least once).
    """
    now = dt.datetime.now(dt.UTC)
    for alert in alerts:
        con.execute("INSERT INTO webhook_outbox VALUES (?, ?) ON CONFLICT DO NOTHING", [alert.id, now])


def pending_alerts(con: Sql) -> list[Alert]:
    """Alerts still in the outbox, oldest first (an alert deleted since is dropped from it)."""
    out: list[Alert] = []
    for row in rows(con, "SELECT alert_id FROM webhook_outbox ORDER BY queued_at, alert_id"):
        try:
            out.append(get_alert(con, str(row["alert_id"])))
        except AlertNotFound:
            continue
    return out


def delivery_done(con: Sql, alert_id: str) -> None:
    """Take an alert out of the outbox: all its webhooks were tried and their outcomes recorded."""
    con.execute("DELETE FROM webhook_outbox WHERE alert_id = ?", [alert_id])


def create_webhook(
    con: Sql, *, silo: str, url: str, kind: WebhookKind, min_severity: Severity, actor: str
) -> Webhook:
    hook_id = f"wh_{secrets.token_hex(6)}"
    con.execute(
        "INSERT INTO webhooks VALUES (?, ?, ?, ?, ?, ?, ?)",
        [hook_id, silo, url, kind.value, min_severity.value, actor, dt.datetime.now(dt.UTC)],
    )
    return get_webhook(con, hook_id)


def get_webhook(con: Sql, hook_id: str) -> Webhook:
    row = one(con, "SELECT * FROM webhooks WHERE id = ?", [hook_id])
    if row is None:
        raise WebhookNotFound(hook_id)
    return _webhook(row)


def list_webhooks(con: Sql, silo: str | None = None) -> list[Webhook]:
    found = rows(
        con, "SELECT * FROM webhooks WHERE (? IS NULL OR silo = ?) ORDER BY created_at, id", [silo, silo]
    )
    return [_webhook(r) for r in found]


def delete_webhook(con: Sql, hook_id: str) -> None:
    get_webhook(con, hook_id)
    con.execute("DELETE FROM webhooks WHERE id = ?", [hook_id])


def subscribers(con: Sql, alert: Alert) -> list[Webhook]:
    """Webhooks of the alert's silo whose severity threshold the alert reaches."""
    return [h for h in list_webhooks(con, alert.silo) if alert.severity.rank >= h.min_severity.rank]


def record_delivery(
    con: Sql,
    *,
    webhook_id: str,
    alert_id: str,
    attempts: int,
    status: str,
    http_status: int | None,
    error: str | None,
) -> None:
    con.execute(
        "INSERT INTO webhook_deliveries VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            f"wd_{secrets.token_hex(8)}",
            webhook_id,
            alert_id,
            attempts,
            status,
            http_status,
            (error or "")[:500] or None,
            dt.datetime.now(dt.UTC),
        ],
    )


def list_deliveries(con: Sql, hook_id: str, limit: int = 100) -> list[Delivery]:
    found = rows(
        con,
        "SELECT * FROM webhook_deliveries WHERE webhook_id = ? ORDER BY attempted_at DESC LIMIT ?",
        [hook_id, limit],
    )
    return [Delivery(**r) for r in found]


def payload(alert: Alert, kind: WebhookKind) -> dict[str, Any]:
    """The JSON body sent for ``alert``: the whole explained alert, or a Slack message."""
    if kind is WebhookKind.SLACK:
        limits = f"limits [{_num(alert.lcl)}, {_num(alert.ucl)}] around {_num(alert.center)}"
        text = (
            f"*{alert.severity.value.upper()}* {alert.stream} ({alert.silo} / {alert.stage}) on "
            f"{alert.period}: {alert.chart} rule {alert.rule} fired, statistic {_num(alert.statistic)}, "
            f"{limits}, n={alert.n}; expectation {alert.kano or 'n/a'} "
            f"(adequate {_num(alert.adequate)}). Case {alert.case_id}."
        )
        return {"text": text}
    body = dataclasses.asdict(alert)
    return {"type": "gapwatch.alert", "alert": {k: _jsonable(v) for k, v in body.items()}}


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, StrEnum):
        return value.value
    return value
