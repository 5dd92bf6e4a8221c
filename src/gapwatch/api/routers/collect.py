"""``/collect/v1/*``: the Segment / RudderStack HTTP Tracking API (batch, track, identify, page, screen).

Point an SDK at the server (``host=`` / ``dataPlaneUrl=`` ``https://gapwatch.example/collect``)
with an ingest token of a tracking source as its write key. The answers, bounds and
durability are those of ``POST /v1/events`` (docs/collect.md).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Request, Response
from starlette.concurrency import run_in_threadpool

from gapwatch.api.collect_schemas import BATCH_SCHEMA, MESSAGE_SCHEMA, CollectAnswerPublic, json_body
from gapwatch.api.deps import RuntimeDep, access
from gapwatch.api.errors import ApiError
from gapwatch.api.intake import admit, ensure_source, header_key, principal_of, submit
from gapwatch.collect.body import BodyError, decode_body
from gapwatch.collect.collected import Collected
from gapwatch.collect.messages import read_messages
from gapwatch.collect.tracking import map_tracking
from gapwatch.domain.access import Principal, Role, RouteGroup
from gapwatch.serve.runtime import Runtime

router = APIRouter(tags=["collect"])
SourceHeader = Annotated[
    str | None,
    Header(
        alias="X-Gapwatch-Source",
        pattern=r"^[a-z][a-z0-9_]*$",
        max_length=64,
        description="An admin token's tracking source (default: the only one declared). Ingest keys post "
        "for their own source.",
    ),
]
RESPONSES = (400, 404, 413, 415, 429, 503)


def _route(kind: str, summary: str) -> dict[str, Any]:
    schema = BATCH_SCHEMA if kind == "batch" else MESSAGE_SCHEMA
    return {
        "operation_id": f"collect_{kind}",
        "response_model": CollectAnswerPublic,
        "summary": summary,
        "responses": access(RouteGroup.INGEST, *RESPONSES)["responses"],
        "openapi_extra": {
            **access(RouteGroup.INGEST)["openapi_extra"],
            **json_body(schema, "A tracking message (or a batch of them); `Content-Encoding: gzip` allowed."),
        },
    }


async def _collect(request: Request, runtime: Runtime, kind: str, source_header: str | None) -> Response:
    raw = await request.body()
    key = header_key(request)
    principal = principal_of(runtime, key) if key else None
    limit = runtime.settings.max_body_bytes
    try:
        body = decode_body(raw, request.headers.get("content-encoding"), limit)
    except BodyError as exc:
        raise ApiError(exc.status, str(exc)) from exc
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object")
    if principal is None:
        write_key = body.get("writeKey")
        principal = principal_of(runtime, write_key if isinstance(write_key, str) else None)
    source = _source(runtime, principal, source_header)
    messages, sent_at = _messages(body, kind)
    admit(runtime, principal, len(messages))
    received = dt.datetime.now(dt.UTC)
    collected = await run_in_threadpool(_map, runtime, source, messages, sent_at, received, kind)
    answer = await submit(runtime, collected)
    return Response(orjson.dumps(answer.public()), media_type="application/json")


def _map(
    runtime: Runtime, source: str, messages: list[Any], sent_at: Any, received: dt.datetime, kind: str
) -> Collected:
    ok, bad = read_messages(messages, sent_at, received, None if kind == "batch" else kind)
    return map_tracking(source, runtime.config.tracking[source], ok, bad, len(messages))


def _source(runtime: Runtime, principal: Principal, named: str | None) -> str:
    """The tracking source of the request: an ingest key's own, or the one an admin names."""
    tracking = runtime.config.tracking
    declared = ", ".join(tracking) or "none"
    if principal.role is Role.INGEST:
        source = principal.source or ""
    elif named is not None:
        source = named
    elif len(tracking) == 1:
        source = next(iter(tracking))
    else:
        ensure_source(principal, "")
        raise ApiError(
            400, f"name the tracking source with the X-Gapwatch-Source header (declared: {declared})"
        )
    ensure_source(principal, source)
    if source not in tracking:
        status = 403 if principal.role is Role.INGEST else 404
        raise ApiError(status, f"{source!r} is not a tracking source (declared under tracking: {declared})")
    return source


def _messages(body: dict[str, Any], kind: str) -> tuple[list[Any], Any]:
    """The request's messages and the batch's ``sentAt`` (refused with 400 when the envelope is wrong)."""
    for key in ("writeKey", "sentAt"):
        if body.get(key) is not None and not isinstance(body[key], str):
            raise ApiError(400, f"{key} must be a string")
    if kind != "batch":
        return [body], None
    for key in ("context", "integrations"):
        if body.get(key) is not None and not isinstance(body[key], dict):
            raise ApiError(400, f"{key} must be a JSON object")
    batch = body.get("batch")
    if not isinstance(batch, list) or not batch:
        raise ApiError(400, "batch must be a non-empty list of messages")
    return batch, body.get("sentAt")


@router.post("/v1/batch", **_route("batch", "Post a batch of tracking messages (Segment / RudderStack)"))
async def collect_batch(request: Request, runtime: RuntimeDep, source: SourceHeader = None) -> Response:
    """What the SDKs send: ``{"batch": [...], "sentAt": ...}``; one result per record, in order."""
    return await _collect(request, runtime, "batch", source)


@router.post("/v1/track", **_route("track", "Post one track call"))
async def collect_track(request: Request, runtime: RuntimeDep, source: SourceHeader = None) -> Response:
    """A track call: an event name mapped to a moment becomes experiences; any other is behaviour."""
    return await _collect(request, runtime, "track", source)


@router.post("/v1/identify", **_route("identify", "Post one identify call"))
async def collect_identify(request: Request, runtime: RuntimeDep, source: SourceHeader = None) -> Response:
    """An identify call: links the anonymous id to the user id (identity stitching)."""
    return await _collect(request, runtime, "identify", source)


@router.post("/v1/page", **_route("page", "Post one page call"))
async def collect_page(request: Request, runtime: RuntimeDep, source: SourceHeader = None) -> Response:
    """A page view: a mapped page name becomes experiences; any other is behaviour."""
    return await _collect(request, runtime, "page", source)


@router.post("/v1/screen", **_route("screen", "Post one screen call"))
async def collect_screen(request: Request, runtime: RuntimeDep, source: SourceHeader = None) -> Response:
    """A mobile screen view, like a page call."""
    return await _collect(request, runtime, "screen", source)


@router.post("/v1/group", **_route("group", "Post one group call"))
async def collect_group(request: Request, runtime: RuntimeDep, source: SourceHeader = None) -> Response:
    """A group call: kept as behaviour."""
    return await _collect(request, runtime, "group", source)


@router.post("/v1/alias", **_route("alias", "Post one alias call"))
async def collect_alias(request: Request, runtime: RuntimeDep, source: SourceHeader = None) -> Response:
    """An alias call: links ``previousId`` to ``userId``."""
    return await _collect(request, runtime, "alias", source)
