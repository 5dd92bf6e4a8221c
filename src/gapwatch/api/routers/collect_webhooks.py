"""``POST /collect/webhooks/{source}``: survey and form tools' JSON webhooks (Formbricks, Typeform, ...).

A source that declares a signature is authenticated by it (the HMAC of the raw body with
the source's secret; 401 when it is wrong or stale); any source also takes an ingest token
of its own (or an admin token) as a bearer token or Basic user, for senders that cannot
sign. Answers become outcomes or experiences per the source's mapping (docs/collect.md).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import orjson
from fastapi import APIRouter, Path, Request, Response
from starlette.concurrency import run_in_threadpool

from gapwatch.api.collect_schemas import CollectAnswerPublic, json_body
from gapwatch.api.deps import RuntimeDep, access
from gapwatch.api.errors import ApiError
from gapwatch.api.intake import admit, ensure_source, header_key, principal_of, submit
from gapwatch.collect.body import BodyError, decode_body
from gapwatch.collect.webhooks import SignatureError, load_secret, map_webhook, verify
from gapwatch.config.collect import WebhookSource
from gapwatch.domain.access import Principal, Role, RouteGroup
from gapwatch.serve.runtime import Runtime

router = APIRouter(tags=["collect"])
SourcePath = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
BODY = {"description": "The tool's JSON delivery: one object, or a list of them."}


@router.post(
    "/webhooks/{source}",
    operation_id="collect_webhook",
    response_model=CollectAnswerPublic,
    summary="Receive a survey or form webhook",
    responses=access(RouteGroup.INGEST, 400, 404, 413, 415, 429, 503)["responses"],
    openapi_extra={
        **access(RouteGroup.INGEST)["openapi_extra"],
        **json_body(BODY, "The delivery as the tool sends it (`Content-Encoding: gzip` allowed)."),
    },
)
async def collect_webhook(source: SourcePath, request: Request, runtime: RuntimeDep) -> Response:
    """Verify the delivery (signature or token), map its answers, store them; one result per record."""
    hook = runtime.config.webhooks.get(source)
    if hook is None:
        raise ApiError(404, f"no webhook source {source!r} in gapwatch.yaml (declared: {_names(runtime)})")
    raw = await request.body()
    principal = _authenticate(runtime, source, hook, request, raw)
    settings = runtime.settings
    try:
        body = decode_body(raw, request.headers.get("content-encoding"), settings.max_body_bytes)
        collected = await run_in_threadpool(map_webhook, source, hook, body, settings.max_batch_events)
    except BodyError as exc:
        raise ApiError(exc.status, str(exc)) from exc
    admit(runtime, principal, max(collected.messages, 1))
    answer = await submit(runtime, collected)
    return Response(orjson.dumps(answer.public()), media_type="application/json")


def _authenticate(
    runtime: Runtime, source: str, hook: WebhookSource, request: Request, raw: bytes
) -> Principal:
    """A signed delivery is its sender's; an unsigned one needs a token that may post for ``source``."""
    signature = hook.signature
    if signature is not None and request.headers.get(signature.header):
        secret = load_secret(runtime.settings.workspace, signature)
        try:
            verify(signature, secret, request.headers, raw, dt.datetime.now(dt.UTC))
        except SignatureError as exc:
            raise ApiError(401, f"webhook signature refused: {exc}") from exc
        return Principal(token_id=f"webhook:{source}", role=Role.INGEST, source=source)
    principal = principal_of(runtime, header_key(request))
    ensure_source(principal, source)
    return principal


def _names(runtime: Runtime) -> str:
    return ", ".join(runtime.config.webhooks) or "none"
