"""Request body limit, enforced before the body is read (413).

A declared ``Content-Length`` over the limit is refused at once, without reading a byte.
A body sent without a length (chunked) is counted as it streams and refused the moment it
passes the limit; the route never sees it, so nothing is half-written.
"""

from __future__ import annotations

import contextlib
import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gapwatch.api.schemas import ErrorPublic


class BodyTooLarge(Exception):
    """Raised from ``receive`` when a streamed body passes the limit."""


async def _reply_413(send: Send, limit: int) -> None:
    body = json.dumps(
        ErrorPublic(
            code="payload_too_large", message=f"request body over the limit of {limit} bytes"
        ).model_dump()
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    """Refuse bodies over ``max_bytes`` with 413 before they reach the application."""

    def __init__(self, app: ASGIApp, max_bytes: int, larger: dict[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger = larger or {}  # paths with their own limit (file uploads)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.larger.get(scope.get("path", ""), self.max_bytes)
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = limit + 1
                if declared > limit:
                    await _reply_413(send, limit)
                    return
        seen = 0
        over = False

        async def counting_receive() -> Message:
            nonlocal seen, over
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    over = True
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            # Once the body is over the limit, whatever the app answers is replaced by the 413.
            if not over:
                await send(message)

        with contextlib.suppress(BodyTooLarge):
            await self.app(scope, counting_receive, guarded_send)
        if over:
            await _reply_413(send, limit)
