"""Typed error answers: every 4xx/5xx the API gives is an ``ErrorPublic`` body.

Only known failures are mapped (unknown ids, forbidden transitions, a full write queue);
there is no catch-all handler, so a bug still shows up as a server error in the tests
instead of hiding behind a friendly answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from gapwatch.adapters.writer import WriteQueueFull, WriterClosed
from gapwatch.api.schemas import ErrorDetail, ErrorPublic
from gapwatch.auth.tokens import TokenError
from gapwatch.customers.journey import CustomerNotFound
from gapwatch.domain.cases import TransitionError
from gapwatch.quality.alerts import AlertNotFound
from gapwatch.quality.cases import CaseNotFound
from gapwatch.quality.webhooks import WebhookNotFound

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "too_many_requests",
    503: "unavailable",
}

DESCRIPTIONS = {
    400: "The body could not be read (not JSON, or not UTF-8).",
    401: "Missing, unknown or revoked token.",
    403: "The token's role or scope does not allow this.",
    404: "No such object.",
    409: "The object's state does not allow this.",
    413: "Request body over the limit (not read).",
    422: "The request does not fit the schema.",
    429: "Too many events for this token; retry after Retry-After seconds.",
    503: "The write queue is full; retry after Retry-After seconds.",
}

RETRY_AFTER = {
    "Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}}
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for error statuses, all with the typed error schema."""
    out: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        entry: dict[str, Any] = {"model": ErrorPublic, "description": DESCRIPTIONS.get(code, CODES[code])}
        if code in (429, 503):
            entry["headers"] = RETRY_AFTER
        out[code] = entry
    return out


class ApiError(Exception):
    """Raise from a route to answer with a typed error."""

    def __init__(
        self, status: int, message: str, *, code: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or CODES.get(status, "error")
        self.message = message
        self.headers = headers


def error_response(
    status: int,
    message: str,
    *,
    code: str | None = None,
    details: list[ErrorDetail] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = ErrorPublic(code=code or CODES.get(status, "error"), message=message, details=details or [])
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


def allowed_methods(request: Request) -> str:
    """Every method the path supports (Starlette names only those of the first matching route)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches({**request.scope, "method": "GET"})
        if match is not Match.NONE and isinstance(route, APIRoute):
            methods |= route.methods or set()
    return ", ".join(sorted(methods))


def install(app: FastAPI, retry_after: int) -> None:
    """Map the known exceptions to typed error answers."""

    async def api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return error_response(exc.status, exc.message, code=exc.code, headers=exc.headers)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(request)
        return error_response(exc.status_code, str(exc.detail), headers=headers)

    async def invalid(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        details = [
            ErrorDetail(
                loc=[p if isinstance(p, int) else str(p) for p in e.get("loc", ())],
                msg=str(e.get("msg", "")),
                type=str(e.get("type", "")),
            )
            for e in exc.errors()
        ]
        return error_response(422, "the request does not fit the schema", details=details)

    def simple(status: int) -> Any:
        async def handler(request: Request, exc: Exception) -> JSONResponse:
            headers = {"Retry-After": str(retry_after)} if status in (429, 503) else None
            message = f"no such object: {exc}" if status == 404 else (str(exc) or CODES[status])
            return error_response(status, message, headers=headers)

        return handler

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid)
    for exc_type in (AlertNotFound, CaseNotFound, WebhookNotFound, CustomerNotFound):
        app.add_exception_handler(exc_type, simple(404))
    app.add_exception_handler(TransitionError, simple(409))
    app.add_exception_handler(TokenError, simple(422))
    app.add_exception_handler(WriteQueueFull, simple(503))
    app.add_exception_handler(WriterClosed, simple(503))
    app.add_exception_handler(TimeoutError, simple(503))
