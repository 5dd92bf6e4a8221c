"""Admission control for ingest (``POST /v1/events``, ``/collect/...``): refuse what the writer cannot take.

Under overload the server must spend its core on the requests it will write, not on
parsing the ones it will refuse. So before a single byte of an ingest request is parsed,
:class:`IngestAdmission` checks two bounds and, when either is reached, answers 503 with
``Retry-After`` at once:

* the writer's queue is full (:attr:`~gapwatch.adapters.writer.Writer.full`),
* ``max_in_flight`` ingest requests are already admitted and not yet answered, or
* admitting this one would put more than ``max_bytes`` of request bodies in flight
  (a body sent without ``Content-Length`` counts as the body limit).

The refused body is read and dropped (it is at most the body limit, enforced outside this
middleware), so the connection stays usable and the client always receives the answer;
closing a socket with unread data would reset it and could lose the 503. Memory held by
ingest is therefore bounded by construction: at most ``max_bytes`` of bodies (and at most
``max_in_flight`` requests) from admission to answer, parsed, queued or being written
(docs/operations.md).
"""

from __future__ import annotations

from collections.abc import Callable

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

INGEST_PATH = "/v1/events"
COLLECT_PATHS = "/collect/"  # the tracking API and survey webhooks: ingest too


def is_ingest(path: str) -> bool:
    """Whether ``path`` is an ingest route (admission control applies)."""
    return path == INGEST_PATH or path.startswith(COLLECT_PATHS)


class IngestAdmission:
    """Answer 503 + ``Retry-After`` to ``POST /v1/events`` when the writer is saturated.

    Parameters
    ----------
    app
        The application inside.
    saturated
        Whether the writer's queue is full now.
    max_in_flight
        Ingest requests admitted at once (being read, parsed, queued or written).
    max_bytes
        Bytes of request bodies admitted at once.
    body_limit
        The largest body (what a body without ``Content-Length`` is counted as).
    retry_after
        Seconds the client should wait (the ``Retry-After`` header).
    """

    def __init__(
        self,
        app: ASGIApp,
        saturated: Callable[[], bool],
        max_in_flight: int,
        max_bytes: int,
        body_limit: int,
        retry_after: int,
    ) -> None:
        self.app = app
        self.saturated = saturated
        self.max_in_flight = max_in_flight
        self.max_bytes = max_bytes
        self.body_limit = body_limit
        self.retry_after = retry_after
        self.in_flight = 0
        self.bytes_in_flight = 0
        self.refused = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not is_ingest(scope["path"]):
            await self.app(scope, receive, send)
            return
        size = _declared_size(scope, self.body_limit)
        if (
            self.in_flight >= self.max_in_flight
            or (self.in_flight and self.bytes_in_flight + size > self.max_bytes)
            or self.saturated()
        ):
            self.refused += 1
            await _drain(receive)
            await self._refuse(send)
            return
        self.in_flight += 1
        self.bytes_in_flight += size
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
            self.bytes_in_flight -= size

    async def _refuse(self, send: Send) -> None:
        body = orjson.dumps(
            {
                "code": "unavailable",
                "message": "the write queue is full; retry after Retry-After seconds (posting is idempotent)",
                "details": [],
            }
        )
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(self.retry_after).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _declared_size(scope: Scope, body_limit: int) -> int:
    """The body's ``Content-Length`` (at most the limit; the body limit refuses more), else the limit."""
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return max(0, min(int(value), body_limit))
            except ValueError:
                return body_limit
    return body_limit


async def _drain(receive: Receive) -> None:
    """Read the request body and drop it (the body limit outside bounds how much)."""
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return
