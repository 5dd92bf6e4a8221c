"""Helpers for the collect tests: the test workspace's sources, keys, messages, signatures."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import yaml

from gapwatch.adapters.duckdb_store import DuckDBStore
from gapwatch.api import Runtime
from gapwatch.auth.tokens import create_token
from gapwatch.config import default_config_text, parse_config
from gapwatch.config.schema import WorkspaceConfig
from gapwatch.domain.access import Role
from gapwatch.settings import Settings

SECRET = b"test-secret-test-secret-test-sec"
FORMBRICKS_SECRET = "whsec_" + base64.b64encode(b"formbricks signing key, 32 bytes").decode()
FORMS_SECRET = "forms-shared-secret"

# Besides the default template's `segment` and `formbricks`: a second tracking source whose page
# names are moments, and a GitHub-style signed form tool (hex HMAC with a prefix).
EXTRA_YAML = """
tracking:
  webapp:
    description: the web app's RudderStack SDK
    events:
      - page: Checkout
        moment: checkout
        experiences: [{metric: page_load_seconds, value: {path: properties.load_ms, scale: 0.001}}]
      - track: Ticket Closed
        moment: support_ticket
        segment:
          path: [properties.plan, context.traits.plan]
          map: {Gold: premium, Basic: standard}
          default: all
        experiences:
          - {metric: first_response_hours, value: properties.first_reply_hours}
          - {metric: csat, value: properties.rating, optional: true}
        text: properties.comment
webhooks:
  forms:
    description: a form tool that signs GitHub-style
    signature: {scheme: hmac-sha256, header: X-Forms-Signature, secret_file: forms.secret, prefix: "sha256="}
    event_id: submission.id
    customer_id: submission.hidden.customer
    occurred_at: submission.submitted_at
    answers:
      - {moment: review_invite, metric: csat, value: submission.answers.satisfaction, optional: false}
"""


def collect_config_text() -> str:
    """The default template with the extra sources above."""
    base = yaml.safe_load(default_config_text())
    extra = yaml.safe_load(EXTRA_YAML)
    base["tracking"].update(extra["tracking"])
    base["webhooks"].update(extra["webhooks"])
    return yaml.safe_dump(base, sort_keys=False)


def collect_config() -> WorkspaceConfig:
    return parse_config(collect_config_text())


def make_runtime(workspace: Path | None = None, **settings: Any) -> Runtime:
    """An in-memory service over the test configuration; ``workspace`` holds the webhook secrets."""
    config = collect_config()
    if workspace is not None:
        (workspace / "formbricks-webhook.secret").write_text(FORMBRICKS_SECRET + "\n")
        (workspace / "forms.secret").write_text(FORMS_SECRET + "\n")
    store = DuckDBStore(timezone=config.workspace.timezone, secret=SECRET)
    return Runtime(Settings.model_validate({"workspace": workspace, **settings}), config, store)


@dataclass
class Keys:
    admin: str
    analyst: str
    segment: str
    webapp: str
    crm: str  # an ingest key of a file source
    formbricks: str
    metrics: str


def make_keys(runtime: Runtime) -> Keys:
    def make(role: Role, **kw: str) -> str:
        return str(runtime.write(lambda con: create_token(con, role, **kw))[0])

    return Keys(
        make(Role.ADMIN),
        make(Role.ANALYST),
        make(Role.INGEST, source="segment"),
        make(Role.INGEST, source="webapp"),
        make(Role.INGEST, source="crm"),
        make(Role.INGEST, source="formbricks"),
        make(Role.METRICS),
    )


def basic(key: str) -> dict[str, str]:
    """HTTP Basic auth as the SDKs send a write key: user = key, empty password."""
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def delivered(
    message_id: str, user: str, days: float, promised: float, tier: str, when: dt.datetime, **extra: Any
) -> dict[str, Any]:
    """A Segment track call of the default template's mapped event."""
    return {
        "type": "track",
        "event": "Order Delivered",
        "userId": user,
        "messageId": message_id,
        "timestamp": iso(when),
        "properties": {"delivery_days": days, "promised_days": promised, "tier": tier, "carrier": "DHL"},
        **extra,
    }


def standard_webhook(body: bytes, secret: str, msg_id: str, at: dt.datetime) -> dict[str, str]:
    """Standard Webhooks headers (what Formbricks sends) for ``body``."""
    stamp = str(int(at.timestamp()))
    key = base64.b64decode(secret.removeprefix("whsec_"))
    sig = base64.b64encode(hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": stamp,
        "webhook-signature": "v1," + sig.decode(),
        "content-type": "application/json",
    }


def formbricks_finished(
    response_id: str, user: str | None, nps: int | None, csat: int | None
) -> dict[str, Any]:
    """A Formbricks "response finished" delivery, as its documentation shows it (a list of one)."""
    answers: dict[str, Any] = {}
    if nps is not None:
        answers["nps"] = nps
    if csat is not None:
        answers["csat"] = csat
    return {
        "webhookId": "wh_1",
        "event": "responseFinished",
        "data": {
            "id": response_id,
            "createdAt": "2026-11-30T07:47:29.507Z",
            "updatedAt": "2026-11-30T07:47:56.116Z",
            "surveyId": "srv_1",
            "finished": True,
            "contact": None if user is None else {"id": "ct_1", "userId": user},
            "data": answers,
            "meta": {"country": "DE", "userAgent": {"browser": "Chrome"}},
            "ttc": {"_total": 4947.9},
            "variables": {},
            "tags": [],
        },
    }


def dumps(value: Any) -> bytes:
    return orjson.dumps(value)
