"""The cross-silo customer view (read) and a customer's export and erasure (admin only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from gapwatch.api.deps import PrincipalDep, ReaderDep, RuntimeDep, access
from gapwatch.api.schemas import (
    CasePublic,
    CustomerExportPublic,
    CustomerPublic,
    ErasurePublic,
    JourneyStepPublic,
)
from gapwatch.customers import erasure, journey
from gapwatch.domain.access import RouteGroup

router = APIRouter(tags=["customers"])
CustomerId = Annotated[str, Path(min_length=1, max_length=256)]


@router.get(
    "/customers/{customer_id}",
    operation_id="get_customer",
    response_model=CustomerPublic,
    **access(RouteGroup.READ, 404),
)
def get_customer(customer_id: CustomerId, principal: PrincipalDep, con: ReaderDep) -> CustomerPublic:
    """The journey across all silos: experiences in order with their gaps, stage now, open cases."""
    j = journey.journey(con, customer_id)
    return CustomerPublic(
        customer_id=j.customer_id,
        stage_now=j.stage_now,
        silo_now=j.silo_now,
        silos=j.silos,
        steps=[JourneyStepPublic.model_validate(s) for s in j.steps],
        open_cases=[CasePublic.model_validate(c) for c in j.open_cases],
    )


@router.get(
    "/customers/{customer_id}/export",
    operation_id="export_customer",
    response_model=CustomerExportPublic,
    **access(RouteGroup.PRIVACY, 404),
)
def export_customer(customer_id: CustomerId, principal: PrincipalDep, con: ReaderDep) -> CustomerExportPublic:
    """All personal data held about the customer."""
    return CustomerExportPublic.model_validate(erasure.export(con, customer_id), from_attributes=True)


@router.delete(
    "/customers/{customer_id}",
    operation_id="erase_customer",
    response_model=ErasurePublic,
    **access(RouteGroup.PRIVACY, 404, 503),
)
def erase_customer(customer_id: CustomerId, principal: PrincipalDep, runtime: RuntimeDep) -> ErasurePublic:
    """Erase the customer's personal data; statistics stay valid; later events for them are suppressed."""
    return ErasurePublic.model_validate(
        runtime.write(lambda w: erasure.erase(w, customer_id, principal.name))
    )
