"""Mount the web app on the API's FastAPI application: pages at ``/``, the API stays under ``/v1``.

The pages are plain routes of the same application (left out of the OpenAPI spec), so the
API's routing, its 404/405 answers and its body limits are unchanged. Errors on page paths
are answered as HTML pages; under ``/v1`` they stay the API's typed JSON.
"""

from __future__ import annotations

import inspect
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from gapwatch.serve.runtime import Runtime
from gapwatch.web import auth
from gapwatch.web.pages import NAV_ITEMS, PAGES
from gapwatch.web.render import NAV, page
from gapwatch.web.security import SecurityHeaders

__all__ = ["install_web"]

STATIC = Path(str(files("gapwatch.web").joinpath("static")))
CHARTS_CSS = Path(str(files("gapwatch.report").joinpath("charts.css")))
CACHE = {"Cache-Control": "public, max-age=3600"}


def _charts_css() -> Response:
    return Response(CHARTS_CSS.read_bytes(), media_type="text/css", headers=CACHE)


def install_web(app: FastAPI, runtime: Runtime, api_prefix: str) -> None:
    """Add the pages, the static files and the HTML error pages to ``app``."""
    NAV[:] = list(NAV_ITEMS)
    app.add_api_route("/static/charts.css", _charts_css, methods=["GET"], include_in_schema=False)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(auth.router)
    for module in PAGES:
        app.include_router(module.router)
    api_http_error = app.exception_handlers[StarletteHTTPException]

    async def http_error(request: Request, exc: Exception) -> Response:
        if request.url.path.startswith(api_prefix) or request.url.path == "/openapi.json":
            answer = api_http_error(request, exc)
            return await answer if inspect.isawaitable(answer) else answer
        assert isinstance(exc, StarletteHTTPException)
        return page(
            request,
            "error.html",
            None,
            exc.status_code,
            title="Not found" if exc.status_code == 404 else "Not allowed",
            message=str(exc.detail),
        )

    async def sign_in(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, auth.SignInRequired)
        return auth.sign_in_redirect(exc)

    async def refused(request: Request, exc: Exception) -> HTMLResponse:
        reason = (
            exc.reason if isinstance(exc, auth.Refused) else "the form's CSRF check failed; reload the page"
        )
        return page(request, "error.html", None, 403, title="Not allowed", message=reason)

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(auth.SignInRequired, sign_in)
    app.add_exception_handler(auth.Refused, refused)
    app.add_exception_handler(auth.CsrfRefused, refused)
    app.add_middleware(SecurityHeaders)
