"""The FastAPI application: routes under ``/v1``, OpenAPI at ``/openapi.json``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute

from gapwatch.api import errors
from gapwatch.api.admission import IngestAdmission
from gapwatch.api.deps import reject_unknown_query
from gapwatch.api.limits import BodyLimitMiddleware
from gapwatch.api.observe import RequestObserver
from gapwatch.api.routers import (
    alerts,
    cases,
    collect,
    collect_webhooks,
    customers,
    drivers,
    events,
    exports,
    files,
    lifecycle,
    metrics,
    perspectives,
    rejected,
    report,
    risk,
    streams,
    text,
    tokens,
    webhooks,
)
from gapwatch.serve.runtime import Runtime

API_PREFIX = "/v1"
COLLECT_PREFIX = "/collect"  # the tracking API (its own /v1 inside) and survey webhooks
# risk before customers: /v1/customers/{id}/risk must not be read as the customer "{id}/risk"
# (customer ids may hold a slash)
ROUTERS = (
    events,
    files,
    rejected,
    streams,
    alerts,
    cases,
    risk,
    customers,
    webhooks,
    tokens,
    lifecycle,
    report,
    exports,
    perspectives,
    drivers,
    text,
)
COLLECT_ROUTERS = (collect, collect_webhooks)


def create_app(runtime: Runtime, *, close_on_shutdown: bool = True) -> FastAPI:
    """Build the HTTP face over ``runtime``.

    Parameters
    ----------
    runtime
        The service's moving parts (configuration, connection, writer, notifier).
    close_on_shutdown
        Stop the writer and notifier when the application shuts down.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from gapwatch.insight.retraining import RetrainSchedule, retrainer_of

        # the journey model is refitted when older than risk.retrain_every_days (docs/insight.md)
        schedule = RetrainSchedule(retrainer_of(runtime), runtime.config.risk.retrain_every_days)
        yield
        schedule.stop()
        if close_on_shutdown:
            runtime.close()

    app = FastAPI(
        title="gapwatch",
        version="1",
        summary="Statistical quality control for the customer lifecycle, during the fact.",
        lifespan=lifespan,
        dependencies=[Depends(reject_unknown_query)],
        docs_url=None,
        redoc_url=None,
    )
    app.state.runtime = runtime
    errors.install(app, runtime.settings.retry_after_seconds)
    for module in ROUTERS:
        app.include_router(module.router, prefix=API_PREFIX)
    for module in COLLECT_ROUTERS:
        app.include_router(module.router, prefix=COLLECT_PREFIX)
    app.include_router(metrics.router)  # /metrics, where Prometheus looks
    from gapwatch.web import install_web  # the pages at / (imported here: the web face sits above the API)

    install_web(app, runtime, (API_PREFIX, COLLECT_PREFIX, "/metrics", "/openapi.json"))
    s = runtime.settings
    # Inside the body limit: an ingest request the writer cannot take is refused before it is parsed.
    app.add_middleware(
        IngestAdmission,
        saturated=lambda: runtime.writer.full,
        max_in_flight=s.max_ingest_in_flight,
        max_bytes=s.max_ingest_bytes_in_flight,
        body_limit=s.max_body_bytes,
        retry_after=s.retry_after_seconds,
    )
    app.add_middleware(
        BodyLimitMiddleware, max_bytes=s.max_body_bytes, larger={f"{API_PREFIX}/files": s.max_upload_bytes}
    )
    # Outermost: every answer (the bounds' 413 and 503 too) gets a request id, a log line, a count.
    paths = {
        route.operation_id: prefix + route.path
        for prefix, modules in ((API_PREFIX, ROUTERS), (COLLECT_PREFIX, COLLECT_ROUTERS), ("", (metrics,)))
        for module in modules
        for route in module.router.routes
        if isinstance(route, APIRoute) and route.operation_id
    }
    app.add_middleware(RequestObserver, telemetry=runtime.telemetry, paths=paths, log_requests=s.access_log)
    return app
