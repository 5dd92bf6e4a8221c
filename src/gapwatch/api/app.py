"""The FastAPI application: routes under ``/v1``, OpenAPI at ``/openapi.json``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from gapwatch.api import errors
from gapwatch.api.admission import IngestAdmission
from gapwatch.api.deps import reject_unknown_query
from gapwatch.api.limits import BodyLimitMiddleware
from gapwatch.api.routers import (
    alerts,
    cases,
    customers,
    drivers,
    events,
    files,
    lifecycle,
    perspectives,
    report,
    risk,
    streams,
    text,
    tokens,
    webhooks,
)
from gapwatch.serve.runtime import Runtime

API_PREFIX = "/v1"
ROUTERS = (
    events,
    files,
    streams,
    alerts,
    cases,
    customers,
    webhooks,
    tokens,
    lifecycle,
    report,
    perspectives,
    risk,
    drivers,
    text,
)


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
    from gapwatch.web import install_web  # the pages at / (imported here: the web face sits above the API)

    install_web(app, runtime, API_PREFIX)
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
    return app
