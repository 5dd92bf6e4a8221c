"""``GET /metrics``: the service's Prometheus metrics (an admin token, or a metrics token).

Scrape it with a bearer token (Prometheus ``authorization: {credentials_file: ...}``); a
``metrics`` token (``gapwatch token create --role metrics``) can read nothing else.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from gapwatch.api.deps import PrincipalDep, RuntimeDep, access
from gapwatch.domain.access import RouteGroup

router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    operation_id="get_metrics",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "Exposition format"},
        **access(RouteGroup.METRICS)["responses"],
    },
    openapi_extra=access(RouteGroup.METRICS)["openapi_extra"],
)
async def get_metrics(principal: PrincipalDep, runtime: RuntimeDep) -> Response:
    """Records by source, kind, status and reason; queue depth; commit, detection and request latency;
    open alerts per silo; failed webhook deliveries per silo (Prometheus text format)."""
    body = await run_in_threadpool(generate_latest, runtime.telemetry.registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
