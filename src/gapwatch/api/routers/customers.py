"""The cross-silo customer view (read) and a customer's export and erasure (admin only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from gapwatch.api.deps import PrincipalDep, ReaderDep, RuntimeDep, access
from gapwatch.api.schemas import (
    BehaviourStepPublic,
    CasePublic,
    CustomerExportPublic,
    CustomerPublic,
    ErasurePublic,
    JourneyStepPublic,
    OutcomeStepPublic,
)
from gapwatch.customers import erasure, journey
from gapwatch.domain.access import RouteGroup
from gapwatch.domain.bounds import MAX_IDENTIFIER, id_cases

router = APIRouter(tags=["customers"])
# An id may hold a slash ("acme/42", sent as acme%2F42): the routes take the rest of the path,
# and the export route is matched first. Every id the ingest accepts can be read and erased.
CustomerId = Annotated[str, Path(min_length=1, max_length=MAX_IDENTIFIER)]
ERASE_TIMEOUT = 3600.0  # the file rewrite grows with the store (docs/security.md)


@router.get(
    "/customers/{customer_id:path}/export",
    operation_id="export_customer",
    response_model=CustomerExportPublic,
    **access(RouteGroup.PRIVACY, 404),
)
def export_customer(
    customer_id: CustomerId, principal: PrincipalDep, con: ReaderDep, runtime: RuntimeDep
) -> CustomerExportPublic:
    """All personal data held about the customer."""
    found = erasure.export(con, customer_id, id_cases(runtime.config))
    return CustomerExportPublic.model_validate(found, from_attributes=True)


@router.get(
    "/customers/{customer_id:path}",
    operation_id="get_customer",
    response_model=CustomerPublic,
    **access(RouteGroup.READ, 404),
)
def get_customer(
    customer_id: CustomerId, principal: PrincipalDep, con: ReaderDep, runtime: RuntimeDep
) -> CustomerPublic:
    """The journey across all silos: experiences in order with their gaps, stage now, open cases,
    and the behaviour and outcomes between them (an anonymous visitor's, once identified, too)."""
    j = journey.journey(con, customer_id, id_cases(runtime.config))
    return CustomerPublic(
        customer_id=j.customer_id,
        stage_now=j.stage_now,
        silo_now=j.silo_now,
        silos=j.silos,
        steps=[JourneyStepPublic.model_validate(s) for s in j.steps],
        open_cases=[CasePublic.model_validate(c) for c in j.open_cases],
        behaviour=[BehaviourStepPublic.model_validate(b) for b in j.behaviour],
        outcomes=[OutcomeStepPublic.model_validate(o) for o in j.outcomes],
    )


@router.delete(
    "/customers/{customer_id:path}",
    operation_id="erase_customer",
    response_model=ErasurePublic,
    **access(RouteGroup.PRIVACY, 404, 503),
)
def erase_customer(customer_id: CustomerId, principal: PrincipalDep, runtime: RuntimeDep) -> ErasurePublic:
    """Erase the customer's personal data; statistics stay valid; later events for them are suppressed.

    The answer comes once the store's file has been rewritten: no byte of the customer's
    identifiers, free text or rejected rows is left in it (docs/security.md).
    """
    cases = id_cases(runtime.config)

    def job() -> erasure.Erasure:
        runtime.detect_pending()  # the events stored so far are judged before the file is rewritten
        done = erasure.erase_customer(runtime.store, customer_id, principal.name, cases)
        runtime.live.rebuild(runtime.store)  # the rewritten file holds the rows in a new order
        return done

    return ErasurePublic.model_validate(runtime.writer.call(job, timeout=ERASE_TIMEOUT))
