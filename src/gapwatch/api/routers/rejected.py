"""Rejected rows: what ingest refused, with row number, reason and value (admin: rows hold personal data)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from gapwatch.api.deps import PrincipalDep, ReaderDep, access
from gapwatch.api.schemas import KeyFilter, RejectedListPublic, RejectedPublic
from gapwatch.domain.access import RouteGroup
from gapwatch.ingest import rejects as svc

router = APIRouter(tags=["ingest"])
Limit = Annotated[int, Query(ge=1, le=svc.MAX_LIMIT)]
Reason = Annotated[str | None, Query(pattern=r"^[a-z_]{1,40}$")]


@router.get(
    "/rejected", operation_id="list_rejected", response_model=RejectedListPublic, **access(RouteGroup.ADMIN)
)
def list_rejected(
    principal: PrincipalDep,
    con: ReaderDep,
    source: KeyFilter = None,
    reason: Reason = None,
    limit: Limit = 100,
) -> RejectedListPublic:
    """Rejected rows, newest first, with the reason and the refused value; counts per reason."""
    found = svc.list_rejected(con, source=source, reason=reason, limit=limit)
    items = [RejectedPublic.model_validate(r) for r in found]
    return RejectedListPublic(
        items=items, count=len(items), reasons=svc.rejected_counts(con, source=source, reason=reason)
    )
