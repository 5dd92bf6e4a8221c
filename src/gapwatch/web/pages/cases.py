"""``/cases/{id}``: one case's timeline (its audit trail), its actions, its stream's chart since it opened."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from gapwatch.live.read import StreamNotFound
from gapwatch.quality.inbox import case_timeline, inbox_item
from gapwatch.report.figures import stream_figure
from gapwatch.web.auth import ViewerDep
from gapwatch.web.pages.common import can_act, figure_context, not_found, runtime_of
from gapwatch.web.render import page

router = APIRouter(include_in_schema=False)
CONTEXT_DAYS = 28  # the chart starts this long before the case opened


@router.get("/cases/{case_id}")
def case_page(request: Request, session: ViewerDep, case_id: str) -> HTMLResponse:
    runtime = runtime_of(request)
    ctx = figure_context(runtime)
    with runtime.reader() as con:
        item = inbox_item(con, case_id)
        if item is None:
            return not_found(request, session, f"No case {case_id!r}.")
        events = case_timeline(con, case_id)
        since = item.first_period - dt.timedelta(days=CONTEXT_DAYS)  # from just before its first alert
        try:
            figure = stream_figure(con, runtime.lifecycle, ctx, item.stream_id, since=since)
        except StreamNotFound:
            figure = None
    allowed, reason = can_act(session, item.case.silo)
    return page(
        request, "case.html", session, item=item, events=events, figure=figure, allowed=allowed, reason=reason
    )
