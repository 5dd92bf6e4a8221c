"""``POST /v1/events``: experience records from live systems, through the one ingest path."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute

from gapwatch.api.deps import PrincipalDep, RuntimeDep, access, ensure
from gapwatch.api.errors import ApiError
from gapwatch.api.schemas import EventBatchCreate, EventBatchPublic
from gapwatch.domain.access import Role, RouteGroup
from gapwatch.ingest.batches import BatchOutcome


class _OrjsonRequest(Request):
    """A request whose JSON body is parsed by orjson (a 500-event body: 4x faster than ``json``).

    orjson refuses what is not strict JSON (NaN, invalid UTF-8, lone surrogates) with a
    ``json.JSONDecodeError``, which FastAPI answers as 422 ``json_invalid``.
    """

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = orjson.loads(await self.body())
        return self._json


class _OrjsonRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            return await handler(_OrjsonRequest(request.scope, request.receive))

        return route


router = APIRouter(tags=["events"], route_class=_OrjsonRoute)
DEFAULT_SOURCE = "api"  # the source of an admin's events that name none


@router.post(
    "/events",
    operation_id="ingest_events",
    response_model=EventBatchPublic,
    summary="Post a batch of experience records",
    description=(
        "Up to 1,000 events (and at most the service's body limit, 1 MB by default) per request. "
        "Idempotent on (source, event_id): a repeat is a duplicate, a repeat with another payload a "
        "rejected conflict. The answer comes only after the batch is committed to disk."
    ),
    **access(RouteGroup.INGEST, 400, 429, 503),
)
async def ingest_events(batch: EventBatchCreate, principal: PrincipalDep, runtime: RuntimeDep) -> Response:
    source = batch.source or principal.source or DEFAULT_SOURCE
    ensure(principal, RouteGroup.INGEST, source=source if principal.role is Role.INGEST else None)
    settings = runtime.settings
    if len(batch.events) > settings.max_batch_events:
        raise ApiError(413, f"at most {settings.max_batch_events} events per request")
    retry = {"Retry-After": str(settings.retry_after_seconds)}
    if not runtime.limiter.allow(principal.token_id, len(batch.events)):
        raise ApiError(429, "too many events for this token; slow down", headers=retry)
    future = runtime.submit_events(batch.events, source)
    try:
        outcome = await asyncio.wait_for(asyncio.wrap_future(future), settings.write_timeout_seconds)
    except TimeoutError as exc:
        raise ApiError(
            503, "the write did not finish in time; retry (it is idempotent)", headers=retry
        ) from exc
    runtime.notifier.notify(outcome.alerts)
    return Response(orjson.dumps(_public(outcome)), media_type="application/json")


def _public(outcome: BatchOutcome) -> dict[str, Any]:
    """The answer as :class:`EventBatchPublic` serialises it, built directly (1,000 results per request)."""
    return {
        "source": outcome.source,
        "received": outcome.received,
        "accepted": outcome.count("accepted"),
        "duplicate": outcome.count("duplicate"),
        "rejected": outcome.count("rejected"),
        "results": [
            {
                "index": r.index,
                "event_id": r.event_id,
                "status": r.status,
                "reason_code": r.reason_code,
                "reason": r.reason,
            }
            for r in outcome.results
        ],
    }
