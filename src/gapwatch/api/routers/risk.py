"""Outcome risk during the journey: each silo's at-risk list, one customer's risk, and retraining.

Scoring uses the stored journey model (``gapwatch predict --retrain`` or ``POST /v1/risk/model``)
on the events stored so far, so a customer's new events count at once, without retraining.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path as FsPath
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from gapwatch.api.deps import PrincipalDep, ReaderDep, RuntimeDep, access
from gapwatch.api.errors import ApiError
from gapwatch.api.schemas_insight import ModelPublic, ReasonPublic, RiskListPublic, RiskPublic
from gapwatch.domain.access import RouteGroup
from gapwatch.domain.bounds import id_cases
from gapwatch.insight import risk as risk_svc
from gapwatch.insight.retraining import retrainer_of, risk_target
from gapwatch.serve.runtime import Runtime

router = APIRouter(tags=["risk"])


def _root(runtime: Runtime) -> FsPath | None:
    return runtime.settings.workspace


def model_of(runtime: Runtime) -> Any:
    """The stored journey model, or None (409 for a model file of another version)."""
    try:
        return risk_svc.service_model(_root(runtime), runtime)
    except ValueError as exc:
        raise ApiError(409, str(exc)) from None


def _public(row: risk_svc.CustomerRisk) -> RiskPublic:
    r = row.risk
    if r is None:
        return RiskPublic(
            customer_id=row.customer_id, risk=None, flagged=False, as_of=None, reasons=[], note=row.note
        )
    return RiskPublic(
        customer_id=row.customer_id,
        risk=r.risk,
        flagged=r.flagged,
        as_of=r.as_of.isoformat(),
        reasons=[ReasonPublic.model_validate(x) for x in r.reasons],
        note=row.note,
    )


def _silos(runtime: Runtime) -> dict[str, str]:
    return {m: runtime.lifecycle.silo_of(m) for m in runtime.lifecycle.moments}


@router.get("/risk", operation_id="list_at_risk", response_model=RiskListPublic, **access(RouteGroup.READ))
def list_at_risk(
    principal: PrincipalDep,
    runtime: RuntimeDep,
    silo: Annotated[
        str | None, Query(max_length=64, description="Customers whose reasons lie in this silo.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> RiskListPublic:
    """Customers still on their journey whose risk crossed the flag level, riskiest first, with the
    moments behind it (the drop in risk had each gone as expected). The service keeps its scoring
    of every customer; when events arrived since, the list comes from it (``scored_at``) while a
    newer one is made in the background (``refreshing``)."""
    found = risk_svc.at_risk(
        runtime.reader,
        model_of(runtime),
        _silos(runtime),
        silo=silo,
        limit=limit,
        board=risk_svc.board_of(runtime),
    )
    return RiskListPublic(
        threshold=found.threshold,
        scored=found.scored,
        at_risk=[_public(r) for r in found.at_risk],
        note=found.note,
        scored_at=found.scored_at.isoformat() if found.scored_at else None,
        refreshing=found.refreshing,
    )


CustomerId = Annotated[str, Path(min_length=1, max_length=256)]


@router.get(
    "/customers/{customer_id}/risk",
    operation_id="get_customer_risk",
    response_model=RiskPublic,
    **access(RouteGroup.READ, 404),
)
def get_customer_risk(
    customer_id: CustomerId, principal: PrincipalDep, runtime: RuntimeDep, con: ReaderDep
) -> RiskPublic:
    """The customer's risk from their events so far (re-scored at once, no retraining) and the
    moments behind it."""
    try:
        found = risk_svc.customer_risk(
            con, model_of(runtime), _silos(runtime), customer_id, id_cases(runtime.config)
        )
    except risk_svc.CustomerNotFound:
        raise ApiError(404, "no such customer") from None
    return _public(found)


def _status(runtime: Runtime) -> ModelPublic:
    job = retrainer_of(runtime).job
    if job.state == "running":
        return ModelPublic(state="running")
    try:
        model = model_of(runtime)
    except ApiError as exc:
        return ModelPublic(state="failed", error=exc.message)
    if model is None:
        return ModelPublic(state="failed" if job.state == "failed" else "none", error=job.error)
    precision = model.precision if model.precision == model.precision else None  # NaN: not reached
    return ModelPublic(
        state="ready",
        answers=model.answers,
        threshold=model.threshold,
        precision=precision,
        moments=list(model.moments),
        text_model=model.text is not None,
        trained_at=model.trained_at.isoformat(),
        error=job.error if job.state == "failed" else None,
        last_trigger=job.trigger,
        next_retraining=_next(runtime, model.trained_at),
    )


def _next(runtime: Runtime, trained_at: dt.datetime) -> str | None:
    every = runtime.config.risk.retrain_every_days
    return (trained_at + dt.timedelta(days=every)).isoformat() if every > 0 else None


@router.get(
    "/risk/model", operation_id="get_risk_model", response_model=ModelPublic, **access(RouteGroup.READ)
)
def get_risk_model(principal: PrincipalDep, runtime: RuntimeDep) -> ModelPublic:
    """The journey model in use (when and on how many answers it was trained) and the last retraining."""
    return _status(runtime)


@router.post(
    "/risk/model",
    operation_id="retrain_risk_model",
    response_model=ModelPublic,
    status_code=202,
    **access(RouteGroup.ADMIN),
)
def retrain_risk_model(
    principal: PrincipalDep,
    runtime: RuntimeDep,
    outcome: Annotated[
        str | None, Query(max_length=64, description="Default: risk.outcome in gapwatch.yaml (nps).")
    ] = None,
    positive: Annotated[
        str | None, Query(max_length=64, description="Default: risk.positive, else <=6 for nps.")
    ] = None,
) -> ModelPublic:
    """Start retraining the journey model on every answer so far (a separate step, in the background,
    one at a time); poll ``GET /v1/risk/model``. Scoring keeps the previous model until it is done."""
    chosen, bad = risk_target(runtime.config.risk, outcome, positive)
    retrainer_of(runtime).start(chosen, bad)
    return ModelPublic(state="running")
