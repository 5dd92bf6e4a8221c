"""``/streams/{id}``: every chart of one stream, its expectation's versions, the segments beneath.

The charts sit in a fragment that polls ``/streams/{id}/charts?v=…`` every few seconds; the
answer is 204 (nothing to swap) until the stream's stored periods or signals change, so new
points and signals appear without a reload.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from gapwatch.live.read import StreamNotFound, parse_stream_id
from gapwatch.report.figures import stream_figure
from gapwatch.report.stream_view import expectation_history, related_streams, stream_version
from gapwatch.web.auth import ViewerDep
from gapwatch.web.pages.common import figure_context, not_found, runtime_of
from gapwatch.web.render import page, partial

router = APIRouter(include_in_schema=False)
POLL_SECONDS = 3
WINDOWS = (30, 90, 180, 0)  # 0: everything


def _since(runtime_last: dt.date | None, days: int) -> dt.date | None:
    if not days or runtime_last is None:
        return None
    return runtime_last - dt.timedelta(days=days - 1)


def _charts(request: Request, session: ViewerDep, stream_id: str, days: int) -> dict[str, Any]:
    runtime = runtime_of(request)
    ctx = figure_context(runtime)
    with runtime.reader() as con:
        figure = stream_figure(con, runtime.lifecycle, ctx, stream_id, since=_since(ctx.last, days))
        version = stream_version(con, stream_id)
    return {"figure": figure, "version": version, "stream_id": stream_id, "days": days, "poll": POLL_SECONDS}


@router.get("/streams/{stream_id}")
def stream_page(request: Request, session: ViewerDep, stream_id: str, days: int = 180) -> HTMLResponse:
    runtime = runtime_of(request)
    days = days if days in WINDOWS else 180
    try:
        parse_stream_id(stream_id)
        charts = _charts(request, session, stream_id, days)
    except StreamNotFound:
        return not_found(request, session, f"No stream {stream_id!r} in this workspace.")
    with runtime.reader() as con:
        related = related_streams(con, runtime.lifecycle, stream_id)
    return page(
        request,
        "stream.html",
        session,
        **charts,
        related=related,
        expectations=expectation_history(runtime.config, stream_id),
        windows=WINDOWS,
    )


@router.get("/streams/{stream_id}/charts")
def stream_charts(
    request: Request, session: ViewerDep, stream_id: str, v: str = "", days: int = 180
) -> Response:
    runtime = runtime_of(request)
    days = days if days in WINDOWS else 180
    try:
        parse_stream_id(stream_id)
        with runtime.reader() as con:
            if v and stream_version(con, stream_id) == v:
                return Response(status_code=204)  # htmx swaps nothing
        charts = _charts(request, session, stream_id, days)
    except StreamNotFound:
        return not_found(request, session, f"No stream {stream_id!r} in this workspace.")
    return partial(request, "_stream_charts.html", session, **charts)
