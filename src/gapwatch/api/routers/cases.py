"""Cases: the corrective-action loop and its audit trail."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from gapwatch.api.deps import PrincipalDep, ReaderDep, RuntimeDep, access, ensure
from gapwatch.api.schemas import (
    CaseActionCreate,
    CaseDetailPublic,
    CaseEventPublic,
    CaseListPublic,
    CasePublic,
    KeyFilter,
)
from gapwatch.domain.access import RouteGroup
from gapwatch.domain.cases import CaseAction, CaseState, allowed_actions
from gapwatch.quality import cases as svc
from gapwatch.sqlport import Sql

router = APIRouter(tags=["cases"])


def _detail(con: Sql, case_id: str) -> CaseDetailPublic:
    case = svc.get_case(con, case_id)
    events = [CaseEventPublic.model_validate(e) for e in svc.case_events(con, case_id)]
    return CaseDetailPublic.model_validate(
        {
            **CasePublic.model_validate(case).model_dump(),
            "allowed_actions": allowed_actions(case.state),
            "events": events,
        }
    )


@router.get("/cases", operation_id="list_cases", response_model=CaseListPublic, **access(RouteGroup.READ))
def list_cases(
    principal: PrincipalDep,
    con: ReaderDep,
    silo: KeyFilter = None,
    state: CaseState | None = None,
    moment: KeyFilter = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> CaseListPublic:
    """Cases of every silo, newest first."""
    found = svc.list_cases(con, silo=silo, state=state, moment=moment, limit=limit, offset=offset)
    items = [CasePublic.model_validate(c) for c in found]
    return CaseListPublic(items=items, count=len(items))


@router.get(
    "/cases/{case_id}",
    operation_id="get_case",
    response_model=CaseDetailPublic,
    **access(RouteGroup.READ, 404),
)
def get_case(case_id: str, principal: PrincipalDep, con: ReaderDep) -> CaseDetailPublic:
    """One case with its audit trail (who did what, when)."""
    return _detail(con, case_id)


@router.post(
    "/cases/{case_id}/actions",
    operation_id="act_on_case",
    response_model=CaseDetailPublic,
    **access(RouteGroup.ACT, 400, 404, 409, 503),
)
def act_on_case(
    case_id: str, body: CaseActionCreate, principal: PrincipalDep, con: ReaderDep, runtime: RuntimeDep
) -> CaseDetailPublic:
    """Move a case one step: acknowledge, record cause and action, verify, close — or comment."""
    ensure(principal, RouteGroup.ACT, silo=svc.get_case(con, case_id).silo)
    data = svc.ActionInput(
        note=body.note,
        cause=body.cause,
        action_kind=body.action_kind,
        action=body.action_text,
        expectation_version=body.expectation_version,
        verify_from=body.verify_from,
    )
    required = runtime.settings.verify_periods
    runtime.write(
        lambda w: svc.act(
            w, case_id, CaseAction(body.action), principal.name, data, periods_required=required
        )
    )
    return _detail(con, case_id)
