"""Shared dependencies, declared once as Annotated aliases.

Authorization is data-driven: every route states its route group in its OpenAPI
operation (``x-gapwatch-access``, set with :func:`access`), and :func:`authorize` reads
that group from the matched route and checks it against :data:`~gapwatch.domain.access.POLICY`.
A route that declares no group is denied to everyone. Object-level scope (a member's own
silo, an ingest key's own source) is checked by the route with :func:`ensure` once the
object is known.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gapwatch.api.errors import ApiError, responses
from gapwatch.auth.tokens import authenticate
from gapwatch.domain.access import POLICY, Principal, RouteGroup, decide
from gapwatch.serve.runtime import Runtime
from gapwatch.sqlport import Sql

ACCESS_KEY = "x-gapwatch-access"
_QUERY_TOKEN_NAMES = ("token", "access_token", "api_key", "apikey")

bearer = HTTPBearer(auto_error=False, description="An API token: `Authorization: Bearer gw_...`.")


def access(group: RouteGroup, *errors: int) -> dict[str, Any]:
    """Route keyword arguments declaring ``group`` and the error statuses the route can answer."""
    return {
        "openapi_extra": {ACCESS_KEY: group.value},
        "responses": responses(*sorted({401, 403, 413, 422, *errors})),
    }


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_reader(runtime: RuntimeDep) -> Iterator[Sql]:
    with runtime.reader() as cur:
        yield cur


ReaderDep = Annotated[Sql, Depends(get_reader)]


def route_group(request: Request) -> RouteGroup | None:
    route = request.scope.get("route")
    extra = getattr(route, "openapi_extra", None) or {}
    raw = extra.get(ACCESS_KEY)
    return RouteGroup(raw) if isinstance(raw, str) and raw in set(RouteGroup) else None


def _query_names(dependant: Any) -> Iterator[str]:
    yield from (p.alias for p in dependant.query_params)
    for sub in dependant.dependencies:
        yield from _query_names(sub)


def reject_unknown_query(request: Request) -> None:
    """Refuse query parameters the route does not declare (a typo must not be silently ignored)."""
    if any(name in request.query_params for name in _QUERY_TOKEN_NAMES):
        raise ApiError(401, "tokens are accepted in the Authorization header only, never in the query string")
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None or not getattr(route, "include_in_schema", True):
        return  # not an API route (the web app's pages take what a browser sends)
    declared = set(_query_names(dependant))
    unknown = sorted(set(request.query_params) - declared)
    if unknown:
        raise ApiError(422, f"unknown query parameter(s): {', '.join(unknown)[:200]}")
    repeated = sorted({k for k in request.query_params if len(request.query_params.getlist(k)) > 1})
    if repeated:  # every query parameter of this API is a single value
        raise ApiError(422, f"query parameter(s) given more than once: {', '.join(repeated)[:200]}")


def authorize(
    request: Request,
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The caller, if its token is valid and its role may use this route's group at all."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ApiError(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
    with runtime.reader() as cur:
        record = authenticate(cur, credentials.credentials)
    if record is None:
        raise ApiError(401, "unknown or revoked token", headers={"WWW-Authenticate": "Bearer"})
    principal = record.principal()
    group = route_group(request)
    if group is None or principal.role not in POLICY.get(group, {}):
        raise ApiError(403, decide(principal, group).reason if group else "this route has no access policy")
    return principal


PrincipalDep = Annotated[Principal, Depends(authorize)]


def ensure(
    principal: Principal, group: RouteGroup, *, silo: str | None = None, source: str | None = None
) -> None:
    """Raise 403 unless ``principal`` may act on an object of ``silo`` / ``source``."""
    decision = decide(principal, group, silo=silo, source=source)
    if not decision.allowed:
        raise ApiError(403, decision.reason)
