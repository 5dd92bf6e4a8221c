"""Alerts: list and filter (cross-silo), read one, mark it a true or false alarm."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from gapwatch.api.deps import PrincipalDep, ReaderDep, RuntimeDep, access, ensure
from gapwatch.api.schemas import AlertListPublic, AlertPublic, FalseAlarmsPublic, KeyFilter, VerdictCreate
from gapwatch.domain.access import RouteGroup
from gapwatch.domain.alerts import AlertState, Severity
from gapwatch.quality import alerts as svc

router = APIRouter(tags=["alerts"])
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]


@router.get("/alerts", operation_id="list_alerts", response_model=AlertListPublic, **access(RouteGroup.READ))
def list_alerts(
    principal: PrincipalDep,
    con: ReaderDep,
    silo: KeyFilter = None,
    stage: KeyFilter = None,
    moment: KeyFilter = None,
    state: AlertState | None = None,
    severity: Severity | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> AlertListPublic:
    """Alerts of every silo (silos share insight), newest first."""
    found = svc.list_alerts(
        con, silo=silo, stage=stage, moment=moment, state=state, severity=severity, limit=limit, offset=offset
    )
    items = [AlertPublic.model_validate(a) for a in found]
    return AlertListPublic(items=items, count=len(items))


@router.get(
    "/alerts/false-alarms",
    operation_id="false_alarm_rate",
    response_model=FalseAlarmsPublic,
    **access(RouteGroup.READ),
)
def false_alarm_rate(principal: PrincipalDep, con: ReaderDep, runtime: RuntimeDep) -> FalseAlarmsPublic:
    """Observed false alarms per week (alerts people marked false) beside the designed rate."""
    return FalseAlarmsPublic.model_validate(svc.false_alarm_report(con, runtime.config))


@router.get(
    "/alerts/{alert_id}", operation_id="get_alert", response_model=AlertPublic, **access(RouteGroup.READ, 404)
)
def get_alert(alert_id: str, principal: PrincipalDep, con: ReaderDep) -> AlertPublic:
    """One alert, with everything needed to judge it."""
    return AlertPublic.model_validate(svc.get_alert(con, alert_id))


@router.post(
    "/alerts/{alert_id}/verdict",
    operation_id="mark_alert",
    response_model=AlertPublic,
    **access(RouteGroup.ACT, 400, 404, 503),
)
def mark_alert(
    alert_id: str, body: VerdictCreate, principal: PrincipalDep, con: ReaderDep, runtime: RuntimeDep
) -> AlertPublic:
    """Mark an alert a true or a false alarm (members: their own silo's alerts only)."""
    ensure(principal, RouteGroup.ACT, silo=svc.get_alert(con, alert_id).silo)
    alert = runtime.write(lambda w: svc.mark_alert(w, alert_id, body.verdict, principal.name))
    return AlertPublic.model_validate(alert)
