"""The workspace's report: one self-contained HTML file (what `gapwatch report` writes)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from gapwatch.api.deps import PrincipalDep, ReaderDep, RuntimeDep, access
from gapwatch.domain.access import RouteGroup

router = APIRouter(tags=["report"])


def _openapi() -> dict[str, Any]:
    spec = access(RouteGroup.READ)
    page = {"schema": {"type": "string"}}
    spec["responses"][200] = {"content": {"text/html": page}, "description": "The report (inline SVG)."}
    return spec


# The route answers an HTMLResponse; its errors stay the API's JSON (so the response class stays JSON).
@router.get("/report", operation_id="get_report", response_model=None, **_openapi())
def get_report(principal: PrincipalDep, con: ReaderDep, runtime: RuntimeDep) -> HTMLResponse:
    """Every chart of every signalled stream, the weekly NPS and the lifecycle table, as one HTML page."""
    from gapwatch.report import workspace_report
    from gapwatch.report.figures import live_context

    ctx = live_context(runtime.live, runtime.config)
    title = f"gapwatch report: {runtime.config.workspace.name}"
    return HTMLResponse(workspace_report(con, runtime.config, runtime.lifecycle, ctx, title))
