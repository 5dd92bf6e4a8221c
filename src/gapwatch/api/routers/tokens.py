"""API tokens (admin only): create (shown once), list, revoke."""

from __future__ import annotations

from fastapi import APIRouter

from gapwatch.api.deps import PrincipalDep, ReaderDep, RuntimeDep, access
from gapwatch.api.errors import ApiError
from gapwatch.api.schemas import TokenCreate, TokenCreatedPublic, TokenListPublic, TokenPublic
from gapwatch.auth import tokens as svc
from gapwatch.domain.access import Role, RouteGroup

router = APIRouter(tags=["tokens"])


@router.get("/tokens", operation_id="list_tokens", response_model=TokenListPublic, **access(RouteGroup.ADMIN))
def list_tokens(principal: PrincipalDep, con: ReaderDep) -> TokenListPublic:
    """Every token's record (never the token itself: only its hash is stored)."""
    return TokenListPublic(items=[TokenPublic.model_validate(t) for t in svc.list_tokens(con)])


@router.post(
    "/tokens",
    operation_id="create_token",
    response_model=TokenCreatedPublic,
    status_code=201,
    **access(RouteGroup.ADMIN, 400, 404, 503),
)
def create_token(body: TokenCreate, principal: PrincipalDep, runtime: RuntimeDep) -> TokenCreatedPublic:
    """Create a token; the answer holds the plain token, shown this once."""
    silo = getattr(body, "silo", None)
    if silo is not None and silo not in runtime.lifecycle.silos:
        raise ApiError(404, f"no silo {silo!r} in this workspace")
    source = getattr(body, "source", None)
    plain, record = runtime.write(
        lambda w: svc.create_token(w, Role(body.role), silo=silo, source=source, label=body.label)
    )
    return TokenCreatedPublic(token=plain, id=record.id, role=record.role)


@router.delete(
    "/tokens/{token_id}",
    operation_id="revoke_token",
    response_model=TokenPublic,
    **access(RouteGroup.ADMIN, 404, 503),
)
def revoke_token(token_id: str, principal: PrincipalDep, runtime: RuntimeDep) -> TokenPublic:
    """Revoke a token at once (idempotent)."""
    record = runtime.write(lambda w: svc.revoke_token(w, token_id))
    if record is None:
        raise ApiError(404, f"no token {token_id!r}")
    return TokenPublic.model_validate(record)
