"""Schemas of the collect routes (``/collect/...``): their answers, and their request bodies as documented.

The bodies are read raw (they may be gzip-compressed and carry the write key), so their
schemas are declared for the OpenAPI document only: what it declares is exactly what a
request is refused for (400/413/422); each message's own fields are judged per message,
and a bad one is a rejected record in a 200 answer, as in ``POST /v1/events``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

MESSAGE_FIELDS: dict[str, Any] = {
    "type": {"description": "track, page, screen, identify, group or alias (the route's own by default)"},
    "event": {"description": "A track call's event name (≤ 200 characters)."},
    "name": {"description": "A page or screen name (≤ 200 characters)."},
    "userId": {"description": "The customer's id (a string or a number, ≤ 256 characters)."},
    "anonymousId": {"description": "The visitor's anonymous id; linked to userId when both are given."},
    "previousId": {"description": "An alias call's earlier id."},
    "messageId": {
        "description": "The idempotency key (≤ 100 characters); derived from the content if absent."
    },
    "timestamp": {"description": "ISO 8601 time of the call on the sender's clock."},
    "sentAt": {"description": "ISO 8601 time the sender sent it (corrects its clock skew)."},
    "properties": {"description": "A JSON object: the mapping's paths read it (properties.delivery_days)."},
    "traits": {"description": "A JSON object (identify)."},
    "context": {"description": "A JSON object."},
}
MESSAGE_SCHEMA: dict[str, Any] = {"type": "object", "properties": MESSAGE_FIELDS}
BATCH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["batch"],
    "properties": {
        "batch": {"type": "array", "minItems": 1, "maxItems": 1000, "items": MESSAGE_SCHEMA},
        "sentAt": {"type": "string", "description": "When the batch was sent (the messages' default)."},
        "writeKey": {"type": "string", "description": "The write key, when not sent by HTTP Basic auth."},
        "context": {"type": "object"},
        "integrations": {"type": "object"},
    },
}


def json_body(schema: dict[str, Any], description: str) -> dict[str, Any]:
    """``openapi_extra`` documenting a raw JSON request body (gzip allowed)."""
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {"application/json": {"schema": schema}},
        }
    }


class CollectResultPublic(BaseModel):
    index: int = Field(description="Position of the message (or webhook item) in the request.")
    event_id: str | None = Field(
        description="The record's event id (the message id, + ':metric' if several)."
    )
    kind: Literal["experience", "outcome", "behaviour"]
    status: Literal["accepted", "duplicate", "rejected"]
    reason_code: str | None = None
    reason: str | None = None


class CollectAnswerPublic(BaseModel):
    """``received == accepted + duplicate + rejected``, counted over records; ``success`` for the SDKs."""

    success: bool
    source: str
    messages: int = Field(description="Messages (or webhook items) in the request.")
    received: int
    accepted: int
    duplicate: int
    rejected: int
    ignored: int = Field(description="Webhook items of another event than the mapping's (acknowledged).")
    results: list[CollectResultPublic]
