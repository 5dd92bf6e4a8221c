"""Sign-in for the web app: a server-side session behind an HttpOnly, SameSite=Strict cookie.

* ``GET /login`` shows the form; ``POST /login`` takes an API token in the field ``token``,
  opens a session (:mod:`gapwatch.auth.sessions`) and sets the cookie. An ingest key cannot
  sign in (it may read nothing).
* ``GET /login/once?code=…`` redeems a one-time sign-in code (``gapwatch demo --serve``).
* ``POST /logout`` ends the session.
* :func:`viewer` is the dependency of every page: no live session (or a revoked token) means a
  redirect to ``/login`` (an htmx request gets 401 and ``HX-Redirect``); a role that may not
  read gets 403.
* :func:`checked_form` guards every form post: the session's CSRF secret must come back (field
  ``csrf`` or header ``X-CSRF-Token``) and a browser's ``Origin``, when sent, must be ours.
"""

from __future__ import annotations

import datetime as dt
import hmac
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from gapwatch.auth.sessions import (
    Session,
    close_session,
    open_session,
    redeem_login_link,
    session_of,
)
from gapwatch.auth.tokens import authenticate, get_token
from gapwatch.domain.access import Role, RouteGroup, decide
from gapwatch.serve.runtime import Runtime
from gapwatch.web.render import page

__all__ = ["COOKIE", "SESSION_TTL", "CheckedForm", "SignInRequired", "ViewerDep", "router", "viewer"]

COOKIE = "gw_session"
SESSION_TTL = dt.timedelta(hours=12)
router = APIRouter(include_in_schema=False)


class SignInRequired(Exception):
    """No live session: the handler redirects to the sign-in page."""

    def __init__(self, next_path: str, htmx: bool) -> None:
        super().__init__(next_path)
        self.next_path = next_path
        self.htmx = htmx


class Refused(Exception):
    """A signed-in viewer whose role may not use the web app's route group."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def runtime_of(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def viewer(request: Request) -> Session:
    """The signed-in viewer of this request (see the module's description)."""
    runtime = runtime_of(request)
    with runtime.reader() as cur:
        session = session_of(cur, request.cookies.get(COOKIE))
    if session is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(path, request.headers.get("hx-request") == "true")
    decision = decide(session.principal, RouteGroup.READ)
    if not decision.allowed:
        raise Refused(decision.reason)
    return session


ViewerDep = Annotated[Session, Depends(viewer)]


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None:  # not a browser's cross-site post (browsers send Origin on every POST)
        return True
    parts = urlsplit(origin)
    return f"{parts.scheme}://{parts.netloc}" == f"{request.url.scheme}://{request.url.netloc}"


class CsrfRefused(Exception):
    """A form post without the session's secret, or from another origin."""


async def checked_form(request: Request, session: ViewerDep) -> FormData:
    """The posted form, once the CSRF secret and the origin are checked."""
    form = await request.form()
    sent = request.headers.get("x-csrf-token") or str(form.get("csrf") or "")
    if not _same_origin(request) or not hmac.compare_digest(sent.encode(), session.csrf.encode()):
        raise CsrfRefused()
    return form


CheckedForm = Annotated[FormData, Depends(checked_form)]


def _safe_next(value: str | None) -> str:
    """Only a path on this site (never ``//host`` or a scheme): an open redirect is refused."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value[:500]


def _signed_in(request: Request, token_id: str, target: str) -> Response:
    runtime = runtime_of(request)
    sid = runtime.write(lambda con: open_session(con, token_id, SESSION_TTL))
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        sid,
        max_age=int(SESSION_TTL.total_seconds()),
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


def _login_page(request: Request, message: str = "", status: int = 200, next_path: str = "/") -> HTMLResponse:
    return page(request, "login.html", None, status, message=message, next_path=_safe_next(next_path))


@router.get("/login")
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    return _login_page(request, next_path=next)


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    next_path = str(form.get("next") or "/")
    if not _same_origin(request):
        return _login_page(request, "Sign-in refused: the form was posted from another site.", 403, next_path)
    token = str(form.get("token") or "").strip()
    runtime = runtime_of(request)
    with runtime.reader() as cur:
        record = authenticate(cur, token) if token else None
    if record is None:
        return _login_page(request, "Unknown or revoked token.", 401, next_path)
    if record.role is Role.INGEST:
        return _login_page(
            request, "An ingest key posts events only; it cannot sign in here.", 403, next_path
        )
    return _signed_in(request, record.id, _safe_next(next_path))


@router.get("/login/once")
def login_once(request: Request, code: str = "") -> Response:
    runtime = runtime_of(request)
    token_id = runtime.write(lambda con: redeem_login_link(con, code))
    if token_id is not None:
        with runtime.reader() as cur:
            record = get_token(cur, token_id)
        if record is not None and record.revoked_at is None:
            return _signed_in(request, token_id, "/")
    return _login_page(
        request, "This sign-in link was used already or has expired. Sign in with a token.", 401
    )


@router.post("/logout")
def logout(request: Request, form: CheckedForm) -> Response:
    runtime = runtime_of(request)
    sid = request.cookies.get(COOKIE)
    runtime.write(lambda con: close_session(con, sid))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response


def sign_in_redirect(exc: SignInRequired) -> Response:
    target = f"/login?next={quote(exc.next_path, safe='/')}"
    if exc.htmx:
        return Response(status_code=401, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


LINK_TTL = dt.timedelta(hours=24)


def sign_in_link(
    runtime: Runtime, url: str, role: Role = Role.ANALYST, label: str = "web sign-in link"
) -> str:
    """A new token of ``role`` and a one-time link that signs its holder in (``gapwatch demo --serve``)."""
    from gapwatch.auth.sessions import create_login_link
    from gapwatch.auth.tokens import create_token

    def job(con: object) -> str:
        _, record = create_token(con, role, label=label)  # type: ignore[arg-type]
        return create_login_link(con, record.id, LINK_TTL)  # type: ignore[arg-type]

    code = runtime.write(job)
    return f"{url}/login/once?code={code}"
