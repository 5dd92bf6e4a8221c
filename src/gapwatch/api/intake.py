"""What the collect routes share: who is posting (write keys), the bounds, the wait for the commit.

A *write key* is a gapwatch ingest token scoped to one source; trackers send it as HTTP
Basic auth (``writeKey:``, as the Segment and RudderStack SDKs do), as a bearer token, or
in the body's ``writeKey``. The bounds and answers are those of ``POST /v1/events``: at most
``max_batch_events`` messages (413), the per-token rate limit (429 + ``Retry-After``), a
full write queue or a commit that does not come in time (503 + ``Retry-After``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from concurrent.futures import Future

from fastapi import Request

from gapwatch.api.errors import ApiError
from gapwatch.auth.tokens import authenticate
from gapwatch.collect.collected import Collected
from gapwatch.collect.results import CollectAnswer
from gapwatch.domain.access import Principal, Role, RouteGroup, decide
from gapwatch.serve.runtime import Runtime

CHALLENGE = {"WWW-Authenticate": 'Basic realm="gapwatch", charset="UTF-8"'}


def header_key(request: Request) -> str | None:
    """The write key or token of the ``Authorization`` header (Basic ``key:`` or Bearer), if any."""
    raw = request.headers.get("authorization")
    if not raw:
        return None
    scheme, _, value = raw.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer":
        return value or None
    if scheme.lower() != "basic" or len(value) > 400:
        raise ApiError(
            401, "use HTTP Basic auth with the write key as user name, or a bearer token", headers=CHALLENGE
        )
    try:
        user, _, password = base64.b64decode(value, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ApiError(401, "the Basic credentials are not base64 of 'writeKey:'", headers=CHALLENGE) from exc
    return user or password or None


def principal_of(runtime: Runtime, key: str | None) -> Principal:
    """The caller a write key or token stands for; 401 when it is missing, unknown or revoked."""
    if not key:
        raise ApiError(
            401,
            "missing write key (HTTP Basic auth, a bearer token or the body's writeKey)",
            headers=CHALLENGE,
        )
    with runtime.reader() as cur:
        record = authenticate(cur, key)
    if record is None:
        raise ApiError(401, "unknown or revoked write key", headers=CHALLENGE)
    return record.principal()


def ensure_source(principal: Principal, source: str) -> None:
    """403 unless ``principal`` may post for ``source`` (an admin, or an ingest key of it)."""
    decision = decide(principal, RouteGroup.INGEST, source=source if principal.role is Role.INGEST else None)
    if not decision.allowed:
        raise ApiError(403, decision.reason)


def admit(runtime: Runtime, principal: Principal, messages: int) -> None:
    """The bounds of ``POST /v1/events`` on a request of ``messages`` messages."""
    settings = runtime.settings
    if messages > settings.max_batch_events:
        raise ApiError(413, f"at most {settings.max_batch_events} messages per request")
    if not runtime.limiter.allow(principal.token_id, messages):
        raise ApiError(429, "too many events for this key; slow down", headers=_retry(runtime))


async def submit(runtime: Runtime, collected: Collected) -> CollectAnswer:
    """Queue the collected request on the writer and wait for its commit (or answer 503)."""
    future: Future[CollectAnswer] = runtime.submit_collect(collected)
    try:
        return await asyncio.wait_for(asyncio.wrap_future(future), runtime.settings.write_timeout_seconds)
    except TimeoutError as exc:
        raise ApiError(
            503, "the write did not finish in time; retry (it is idempotent)", headers=_retry(runtime)
        ) from exc


def _retry(runtime: Runtime) -> dict[str, str]:
    return {"Retry-After": str(runtime.settings.retry_after_seconds)}
