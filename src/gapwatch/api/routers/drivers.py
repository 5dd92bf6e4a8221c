"""Key drivers of the workspace's outcome among its moments of truth, with what-if."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from gapwatch.api.deps import PrincipalDep, ReaderDep, RuntimeDep, access
from gapwatch.api.routers.risk import model_of
from gapwatch.api.schemas_insight import DriverPublic, DriversPublic, WhatIfPublic
from gapwatch.domain.access import RouteGroup
from gapwatch.insight.drivers_service import workspace_drivers

router = APIRouter(tags=["drivers"])


@router.get("/drivers", operation_id="get_drivers", response_model=DriversPublic, **access(RouteGroup.READ))
def get_drivers(
    principal: PrincipalDep,
    runtime: RuntimeDep,
    con: ReaderDep,
    outcome: Annotated[str, Query(max_length=64)] = "nps",
    positive: Annotated[str | None, Query(max_length=64)] = None,
    seed: Annotated[int, Query(ge=0, le=2**31)] = 0,
    replicates: Annotated[int, Query(ge=10, le=1000)] = 200,
) -> DriversPublic:
    """Each moment's share of the explained outcome (relative weights, 95 % bootstrap intervals) and,
    with a journey model, the change in the outcome if a moment's miss rate fell to its expectation."""
    try:
        found = workspace_drivers(
            con,
            runtime.config,
            model_of(runtime),
            outcome=outcome,
            positive=positive if positive is not None else ("<=6" if outcome == "nps" else None),
            seed=seed,
            replicates=replicates,
        )
    except ValueError as exc:  # too few answers (or no variation) yet: nothing to rank
        return DriversPublic(
            outcome=outcome, positive=positive, answers=0, drivers=[], what_if=[], note=str(exc)
        )
    return DriversPublic(
        outcome=outcome,
        positive=found.positive,
        answers=found.answers,
        drivers=[
            DriverPublic(name=d.name, importance=d.importance, ci=list(d.ci)) for d in found.drivers.drivers
        ],
        what_if=[WhatIfPublic.model_validate(w) for w in found.what_if],
    )
