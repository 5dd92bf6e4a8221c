"""``/``: the lifecycle map, the overview numbers and the after-the-fact NPS beside them."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from gapwatch.monitor.arrays import ALL_SEGMENTS
from gapwatch.report.figures import nps_figure, workspace_nps
from gapwatch.report.lifecycle_map import lifecycle_map, overview
from gapwatch.web.auth import ViewerDep
from gapwatch.web.pages.common import figure_context, runtime_of
from gapwatch.web.render import page

router = APIRouter(include_in_schema=False)
WINDOWS = (30, 90, 180, 365)


@router.get("/")
def lifecycle_page(
    request: Request, session: ViewerDep, segment: str = ALL_SEGMENTS, days: int = 90
) -> HTMLResponse:
    runtime = runtime_of(request)
    segments = [s for s in runtime.lifecycle.segments if s != "all"]
    segment = segment if segment in segments else ALL_SEGMENTS
    days = days if days in WINDOWS else 90
    ctx = figure_context(runtime)
    with runtime.reader() as con:
        stages = lifecycle_map(con, runtime.lifecycle, runtime.config, segment=segment, days=days)
        numbers = overview(con, runtime.lifecycle, runtime.config)
        nps = workspace_nps(con, runtime.config, ctx)
    return page(
        request,
        "lifecycle.html",
        session,
        stages=stages,
        overview=numbers,
        nps=nps_figure(nps) if nps is not None else None,
        segments=segments,
        segment=segment,
        days=days,
        windows=WINDOWS,
        closed_through=ctx.closed_through,
    )
