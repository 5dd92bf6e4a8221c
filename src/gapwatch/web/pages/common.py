"""What several pages share: the runtime's figure context, HTML error pages, ACT decisions."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from gapwatch.auth.sessions import Session
from gapwatch.domain.access import RouteGroup, decide
from gapwatch.report.figures import FigureContext, live_context
from gapwatch.serve.runtime import Runtime
from gapwatch.web.auth import runtime_of
from gapwatch.web.render import page

__all__ = ["can_act", "figure_context", "not_found", "runtime_of"]


def figure_context(runtime: Runtime) -> FigureContext:
    """The live service's settings in force: its L, calendar and last closed day."""
    return live_context(runtime.live, runtime.config)


def can_act(session: Session, silo: str) -> tuple[bool, str]:
    """May the viewer act on an object of ``silo``; the reason when not (the API's own rule)."""
    d = decide(session.principal, RouteGroup.ACT, silo=silo)
    return d.allowed, d.reason


def not_found(request: Request, session: Session | None, what: str) -> HTMLResponse:
    return page(request, "error.html", session, 404, title="Not found", message=what)
