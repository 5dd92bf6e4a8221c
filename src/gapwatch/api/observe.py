"""Every request observed: a request id, one structured log line, HTTP metrics.

:class:`RequestObserver` is the outermost middleware, so it sees every answer, the 413s and
503s of the bounds included. The request id is the caller's ``X-Request-ID`` when it is a
sane token (a reverse proxy's, say), else a new one; it is sent back in ``X-Request-ID``
and carried by every log line written while the request runs (:class:`RequestIdFilter`).
:func:`configure_logging` makes the service's logs one JSON object per line on stderr.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import secrets
import sys
import time
from contextvars import ContextVar
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gapwatch.serve.telemetry import Telemetry

REQUEST_ID: ContextVar[str | None] = ContextVar("gapwatch_request_id", default=None)
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
access_log = logging.getLogger("gapwatch.access")


class RequestObserver:
    """Give each request an id, count and time it by route template, log it in one line."""

    def __init__(
        self, app: ASGIApp, telemetry: Telemetry, paths: dict[str, str], log_requests: bool = True
    ) -> None:
        self.app = app
        self.telemetry = telemetry
        self.paths = paths  # operation id -> full path template
        self.log_requests = log_requests

    def _template(self, scope: Scope) -> str:
        """The matched route's full path template (``/v1/alerts/{alert_id}``), or ``unmatched``."""
        route = scope.get("route")
        if route is None:
            return "unmatched"
        found = self.paths.get(getattr(route, "operation_id", None) or "")
        return found or str(getattr(route, "path", "unmatched"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = _header(scope, b"x-request-id")
        rid = given if given and _SANE_ID.fullmatch(given) else secrets.token_hex(8)
        token = REQUEST_ID.set(rid)
        status = 500  # what an exception that escapes everything becomes
        started = time.perf_counter()

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message = {
                    **message,
                    "headers": [*message.get("headers", []), (b"x-request-id", rid.encode())],
                }
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            seconds = time.perf_counter() - started
            route = self._template(scope)
            method = scope["method"] if scope["method"] in METHODS else "OTHER"
            self.telemetry.requests.labels(route, method, str(status)).inc()
            self.telemetry.request_seconds.labels(route).observe(seconds)
            if self.log_requests:
                access_log.info(
                    "%s %s %d",
                    method,
                    route,
                    status,
                    extra={
                        "http": {
                            "method": method,
                            "route": route,
                            "status": status,
                            "ms": round(seconds * 1e3, 2),
                        }
                    },
                )
            REQUEST_ID.reset(token)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            try:
                return str(value.decode("latin-1"))
            except UnicodeDecodeError:
                return None
    return None


class RequestIdFilter(logging.Filter):
    """Put the running request's id on every log record (``None`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, and any ``extra``."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        http = getattr(record, "http", None)
        if isinstance(http, dict):
            out.update(http)
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


def configure_logging(fmt: str = "json", level: str = "info") -> None:
    """The service's logs (gapwatch's and uvicorn's) on stderr: JSON lines, or plain text."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(
        JsonFormatter()
        if fmt == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    )
    for name in ("gapwatch", "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.propagate = False
        logger.setLevel(level.upper())
