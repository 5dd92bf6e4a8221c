"""Segment / RudderStack HTTP Tracking API messages, checked field by field.

A message is a JSON object with a ``type`` (track, page, screen, identify, group, alias),
ids (``userId``, ``anonymousId``; ``previousId`` for alias), a ``messageId`` (the
idempotency key), a ``timestamp`` and the client's ``sentAt``. Every field has a type, a
length and a domain; a message that breaks one is rejected with the reason, the others of
its batch go on.

**Clock skew.** The SDKs stamp ``timestamp`` with the device's clock when the call is made
and ``sentAt`` when the batch is sent; the server corrects the device's clock by the
difference between its own receipt time and ``sentAt``, as the HTTP Tracking API does
(``timestamp = receivedAt - (sentAt - timestamp)``). gapwatch applies that correction in
whole minutes, and only past two minutes: a smaller difference is network and queueing
time, not a wrong clock. A retried message (its ``sentAt`` and receipt time are new) then
maps to the same time, so that it is a duplicate, not a conflict; rounding alone would not
do it, as a retry's few seconds can cross a rounding boundary.

Examples
--------
>>> import datetime as dt
>>> now = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)
>>> ok, bad = read_messages(
...     [{"type": "track", "event": "Order Delivered", "userId": "C1", "messageId": "m1",
...       "timestamp": "2026-03-02T10:00:00Z", "sentAt": "2026-03-02T09:00:00Z"}],
...     sent_at=None, received_at=now)
>>> ok[0].occurred_at.isoformat(), bad
('2026-03-02T13:00:00+00:00', [])
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

import orjson

from gapwatch.collect.results import Rejection

TYPES = ("track", "page", "screen", "identify", "group", "alias")
MAX_ID = 256  # userId, anonymousId, previousId
MAX_MESSAGE_ID = 100  # leaves room for ":<metric>" inside the 128 characters of an event id
MAX_NAME = 200
FUTURE = dt.timedelta(days=1)  # a corrected time further ahead than this is a broken clock
SKEW_STEP = 60  # seconds: skew corrections are whole minutes
SKEW_DEAD_BAND = 120  # seconds: a smaller difference is network and queueing time, not a wrong clock


@dataclass(frozen=True, slots=True)
class Message:
    """One checked message; ``occurred_at`` is corrected for the sender's clock skew."""

    index: int
    type: str
    message_id: str
    name: str | None
    user_id: str | None
    anonymous_id: str | None
    previous_id: str | None
    occurred_at: dt.datetime
    raw: dict[str, Any]


class _Bad(ValueError):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code


def read_messages(
    messages: list[Any], sent_at: Any, received_at: dt.datetime, default_type: str | None = None
) -> tuple[list[Message], list[Rejection]]:
    """Check every message of a request; the usable ones and the rejected ones, in order.

    ``sent_at`` is the batch's own ``sentAt`` (a message's own wins); ``default_type`` is
    the type of a single-message route (``/v1/track``) for a message that names none.
    """
    ok: list[Message] = []
    bad: list[Rejection] = []
    for i, raw in enumerate(messages):
        try:
            batch_sent = _time(sent_at, "the batch's sentAt") if sent_at is not None else None
            ok.append(_message(i, raw, batch_sent, received_at, default_type))
        except _Bad as exc:
            bad.append(Rejection(i, _peek_id(raw), raw, exc.code, str(exc), *_peek_people(raw)))
    return ok, bad


def _message(
    i: int, raw: Any, batch_sent: dt.datetime | None, received: dt.datetime, default_type: str | None
) -> Message:
    if not isinstance(raw, dict):
        raise _Bad("not_json", "a message is a JSON object")
    kind = raw.get("type", default_type)
    if kind not in TYPES:
        raise _Bad("unknown_type", f"type {str(kind)[:40]!r} is not one of {', '.join(TYPES)}")
    user, anon = _id(raw, "userId"), _id(raw, "anonymousId")
    previous = _id(raw, "previousId")
    if user is None and anon is None:
        raise _Bad("missing_customer", "the message has neither userId nor anonymousId")
    if kind == "alias" and (previous is None or user is None):
        raise _Bad("missing_customer", "an alias needs previousId and userId")
    name = _name(raw, "event" if kind == "track" else "name", required=kind == "track")
    for key in ("properties", "traits", "context"):
        if raw.get(key) is not None and not isinstance(raw[key], dict):
            raise _Bad("bad_properties", f"{key} must be a JSON object")
    stamped = raw.get("timestamp", raw.get("originalTimestamp"))
    when = _time(stamped, "timestamp") if stamped is not None else received
    sent = _time(raw["sentAt"], "sentAt") if raw.get("sentAt") is not None else batch_sent
    if sent is not None and stamped is not None:  # only the sender's own clock needs correcting
        gap = (received - sent).total_seconds()
        skew = 0 if abs(gap) < SKEW_DEAD_BAND else round(gap / SKEW_STEP) * SKEW_STEP
        try:
            when += dt.timedelta(seconds=skew)
        except OverflowError as exc:
            raise _Bad("bad_timestamp", "the time corrected for the clock skew is out of range") from exc
    if when > received + FUTURE:
        raise _Bad("bad_timestamp", f"the time {when.isoformat()} is more than a day after receipt")
    return Message(i, kind, _message_id(raw), name, user, anon, previous, when, raw)


def _id(raw: dict[str, Any], key: str) -> str | None:
    """A string id (numbers are ids too, as the SDKs send them); nothing else."""
    value = raw.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _Bad("bad_id", f"{key} must be a string or a number")
    text = value if isinstance(value, str) else str(value)
    if len(text) > MAX_ID:
        raise _Bad("bad_id", f"{key} is {len(text)} characters long; at most {MAX_ID} are allowed")
    return text


def _name(raw: dict[str, Any], key: str, *, required: bool) -> str | None:
    value = raw.get(key)
    if value is None or value == "":
        if required:
            raise _Bad("missing_event", f"a track call needs {key!r}")
        return None
    if not isinstance(value, str) or len(value) > MAX_NAME:
        raise _Bad("bad_name", f"{key} must be a string of at most {MAX_NAME} characters")
    return value


def _message_id(raw: dict[str, Any]) -> str:
    """The message's own id; a message sent without one gets one derived from its content.

    A derived id makes a resent identical message a duplicate (the transport's ``sentAt``
    and ``writeKey`` are left out of it).
    """
    value = raw.get("messageId")
    if value is None or value == "":
        content = {k: v for k, v in raw.items() if k not in ("sentAt", "writeKey")}
        digest = hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()
        return "gw-" + digest[:40]
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _Bad("missing_event_id", "messageId must be a string")
    text = str(value)
    if len(text) > MAX_MESSAGE_ID:
        raise _Bad("event_id_too_long", f"messageId is {len(text)} characters; at most {MAX_MESSAGE_ID}")
    return text


def _time(value: Any, key: str) -> dt.datetime:
    """An ISO 8601 time with an offset (a naive one is read as UTC, as the SDKs mean it)."""
    if not isinstance(value, str) or len(value) > 64:
        raise _Bad("bad_timestamp", f"{key} must be an ISO 8601 string")
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise _Bad("bad_timestamp", f"{key} {value[:40]!r} is not an ISO 8601 time") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    try:
        return parsed.astimezone(dt.UTC)
    except OverflowError as exc:
        raise _Bad("bad_timestamp", f"{key} {value[:40]!r} is out of range") from exc


def _peek_id(raw: Any) -> str | None:
    value = raw.get("messageId") if isinstance(raw, dict) else None
    return value[:MAX_MESSAGE_ID] if isinstance(value, str) else None


def _peek_people(raw: Any) -> tuple[str | None, str | None]:
    """The ids of a rejected message, when they are usable (its rejected row is erased with them)."""
    if not isinstance(raw, dict):
        return None, None
    out = []
    for key in ("userId", "anonymousId"):
        value = raw.get(key)
        out.append(value if isinstance(value, str) and 0 < len(value) <= MAX_ID else None)
    return out[0], out[1]
