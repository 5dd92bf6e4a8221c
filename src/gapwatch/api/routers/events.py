"""``POST /v1/events``: experience records from live systems, through the one ingest path."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter

from gapwatch.api.deps import PrincipalDep, RuntimeDep, access, ensure
from gapwatch.api.errors import ApiError
from gapwatch.api.schemas import EventBatchCreate, EventBatchPublic, EventResultPublic
from gapwatch.domain.access import Role, RouteGroup

router = APIRouter(tags=["events"])
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
async def ingest_events(
    batch: EventBatchCreate, principal: PrincipalDep, runtime: RuntimeDep
) -> EventBatchPublic:
    source = batch.source or principal.source or DEFAULT_SOURCE
    ensure(principal, RouteGroup.INGEST, source=source if principal.role is Role.INGEST else None)
    settings = runtime.settings
    if len(batch.events) > settings.max_batch_events:
        raise ApiError(413, f"at most {settings.max_batch_events} events per request")
    retry = {"Retry-After": str(settings.retry_after_seconds)}
    if not runtime.limiter.allow(principal.token_id, len(batch.events)):
        raise ApiError(429, "too many events for this token; slow down", headers=retry)
    records = [event.model_dump(exclude_unset=True) for event in batch.events]
    future = runtime.writer.submit(runtime.ingest_job(records, source))
    try:
        outcome = await asyncio.wait_for(asyncio.wrap_future(future), settings.write_timeout_seconds)
    except TimeoutError as exc:
        raise ApiError(
            503, "the write did not finish in time; retry (it is idempotent)", headers=retry
        ) from exc
    runtime.notifier.notify(outcome.alerts)
    return EventBatchPublic(
        source=source,
        received=outcome.received,
        accepted=outcome.count("accepted"),
        duplicate=outcome.count("duplicate"),
        rejected=outcome.count("rejected"),
        results=[
            EventResultPublic(
                index=r.index,
                event_id=r.event_id,
                status=r.status,
                reason_code=r.reason_code,
                reason=r.reason,
            )
            for r in outcome.results
        ],
    )
