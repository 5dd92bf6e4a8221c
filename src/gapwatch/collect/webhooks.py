"""Survey and form webhooks: signature verification, then answers → outcomes or experiences.

A webhook source (``webhooks:`` in `gapwatch.yaml`) names, by JSON paths, where a
delivery's response id, respondent, time and answers are. A delivery may be one object or
a list of them (Formbricks documents a list); items of another event than ``when`` names
are acknowledged and ignored. The response id is the event id, so a replayed delivery is a
duplicate.

Examples
--------
>>> import datetime as dt
>>> from gapwatch.config import default_config
>>> hook = default_config().webhooks["formbricks"]
>>> body = [{"event": "responseFinished", "data": {"id": "r1", "updatedAt": "2026-03-02T10:00:00Z",
...          "contact": {"userId": "C1"}, "data": {"nps": 9, "csat": 4}}}]
>>> got = map_webhook("formbricks", hook, body)
>>> got.outcomes["nps"][0][1]["event_id"], got.experiences[0][1]["moment"]
('r1:nps', 'support_ticket')
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gapwatch.collect import fields
from gapwatch.collect.body import BodyError
from gapwatch.collect.collected import Collected
from gapwatch.collect.results import Kind, Rejection
from gapwatch.config.collect import Answer, Signature, WebhookSource
from gapwatch.config.jsonpath import MISSING
from gapwatch.domain.experience import METRIC_SUFFIX

MAX_EVENT_ID = 100


class SignatureError(ValueError):
    """A delivery whose signature is missing, stale or wrong (answered 401)."""


def load_secret(root: Path | None, signature: Signature) -> bytes | None:
    """The signing secret from its file in the workspace folder, or None when it is not there.

    Read at each delivery (a few bytes), so a rotated secret takes effect without a restart.
    """
    if root is None:
        return None
    try:
        text = (root / signature.secret_file).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not text:
        return None
    if signature.scheme == "standard-webhooks":
        try:  # Standard Webhooks secrets are base64, optionally prefixed whsec_
            return base64.b64decode(text.removeprefix("whsec_"), validate=True)
        except (binascii.Error, ValueError):
            return text.encode()
    return text.encode()


def verify(
    signature: Signature, secret: bytes | None, headers: Mapping[str, str], body: bytes, now: dt.datetime
) -> None:
    """Check a delivery's signature over its raw ``body``; raise :class:`SignatureError` if it fails."""
    if secret is None:
        raise SignatureError(f"no signing secret in {signature.secret_file!r}: deliveries cannot be verified")
    given = headers.get(signature.header.lower())
    if not given:
        raise SignatureError(f"the {signature.header} header is missing")
    if signature.scheme == "standard-webhooks":
        _standard(signature, secret, headers, given, body, now)
        return
    sent = given.strip().removeprefix(signature.prefix)
    digest = hmac.new(secret, body, hashlib.sha256).digest()
    want = digest.hex() if signature.encoding == "hex" else base64.b64encode(digest).decode()
    if not hmac.compare_digest(sent.lower() if signature.encoding == "hex" else sent, want):
        raise SignatureError("the signature does not match the body")


def _standard(
    signature: Signature, secret: bytes, headers: Mapping[str, str], given: str, body: bytes, now: dt.datetime
) -> None:
    """Standard Webhooks: base64 HMAC-SHA256 of ``{id}.{timestamp}.{body}``, a fresh timestamp."""
    msg_id, stamp = headers.get("webhook-id", ""), headers.get("webhook-timestamp", "")
    if not msg_id or not stamp.isdigit() or len(stamp) > 12:
        raise SignatureError("the webhook-id and webhook-timestamp headers are missing or malformed")
    age = now.timestamp() - int(stamp)
    if abs(age) > signature.tolerance_seconds:
        raise SignatureError(
            f"the delivery's timestamp is {abs(age):.0f} s from the server's clock "
            f"(at most {signature.tolerance_seconds} s): a replay or a wrong clock"
        )
    signed = msg_id.encode() + b"." + stamp.encode() + b"." + body
    want = base64.b64encode(hmac.new(secret, signed, hashlib.sha256).digest()).decode()
    for part in given.split()[:8]:  # several space-separated signatures may be sent (key rotation)
        version, _, sent = part.partition(",")
        if version == "v1" and hmac.compare_digest(sent, want):
            return
    raise SignatureError("the signature does not match the delivery")


def map_webhook(source: str, hook: WebhookSource, body: Any, limit: int | None = None) -> Collected:
    """Map one delivery's items to outcome and experience records (and rejections).

    More than ``limit`` items is refused before any is mapped (:class:`BodyError`, 413).
    """
    items = _items(hook, body)
    if limit is not None and len(items) > limit:
        raise BodyError(413, f"at most {limit} items per delivery")
    out = Collected(source, "webhook", len(items))
    for i, item in enumerate(items):
        if (
            isinstance(item, dict)
            and hook.when is not None
            and hook.when.path.get(item) not in hook.when.equals
        ):
            out.ignored += 1
            continue
        try:
            _item(out, hook, i, item)
        except _Bad as exc:
            user, anon = _people(hook, item)
            out.people[i] = (user, anon)
            kind: Kind = "outcome" if hook.answers[0].outcome else "experience"
            out.rejections.append(Rejection(i, exc.event_id, item, exc.code, str(exc), user, anon, kind))
    return out


def _items(hook: WebhookSource, body: Any) -> list[Any]:
    """A delivery's items: the list at ``items``, else the body (a list, or one item)."""
    found = body if hook.items is None else hook.items.get(body)
    if found is MISSING:
        return [body]
    return found if isinstance(found, list) else [found]


class _Bad(ValueError):
    def __init__(self, code: str, reason: str, event_id: str | None = None) -> None:
        super().__init__(reason)
        self.code = code
        self.event_id = event_id


def _people(hook: WebhookSource, item: Any) -> tuple[str | None, str | None]:
    user = fields.text_id(fields.value(hook.customer_id, item))
    anon = fields.text_id(fields.value(hook.anonymous_id, item))
    return user, anon


def _item(out: Collected, hook: WebhookSource, i: int, item: Any) -> None:
    if not isinstance(item, dict):
        raise _Bad("not_json", "a delivery item is a JSON object")
    event_id = fields.text_id(fields.value(hook.event_id, item))
    if event_id is None:
        raise _Bad("missing_event_id", "the item has no usable id (event_id's paths)")
    if len(event_id) > MAX_EVENT_ID:
        raise _Bad("event_id_too_long", f"the id is {len(event_id)} characters; at most {MAX_EVENT_ID}")
    user, anon = _people(hook, item)
    out.people[i] = (user, anon)
    if user is None and anon is None:
        raise _Bad(
            "missing_customer", "the item names no respondent (customer_id / anonymous_id paths)", event_id
        )
    when = fields.value(hook.occurred_at, item)
    if when is MISSING:
        raise _Bad("missing_timestamp", "the item has no time (occurred_at's paths)", event_id)
    if user is not None and anon is not None:
        out.links.append((i, user, anon))
    base = {"customer_id": user, "anonymous_id": anon, "occurred_at": when}
    answers = [
        (a, v) for a in hook.answers if (v := fields.value(a.value, item)) is not MISSING or not a.optional
    ]
    if not answers:
        raise _Bad("no_experience", "the item answers none of the mapped questions", event_id)
    for answer, value in answers:
        suffix = f"{METRIC_SUFFIX}{answer.name}" if len(hook.answers) > 1 else ""
        record = {**base, "event_id": event_id + suffix, "value": None if value is MISSING else value}
        if answer.outcome is not None:
            out.outcomes.setdefault(answer.outcome, []).append((i, record))
        else:
            out.experiences.append((i, _experience(record, answer, hook, item)))


def _experience(record: dict[str, Any], answer: Answer, hook: WebhookSource, item: Any) -> dict[str, Any]:
    extra: dict[str, Any] = {"moment": answer.moment, "metric": answer.metric}
    for key, spec in (("expected", answer.expected), ("segment", hook.segment), ("text", hook.text)):
        found = fields.value(spec, item)
        if found is not MISSING:
            extra[key] = found
    return {**record, **extra}
