"""``/customers`` (a search box) and ``/customers/{id}``: one customer's journey across every silo."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gapwatch.customers import journey as svc
from gapwatch.customers.journey_view import journey_runs
from gapwatch.customers.search import find_customers
from gapwatch.web.auth import ViewerDep
from gapwatch.web.pages.common import not_found, runtime_of
from gapwatch.web.render import page

router = APIRouter(include_in_schema=False)
MAX_ID = 256


@router.get("/customers")
def search(request: Request, session: ViewerDep, q: str = "") -> Response:
    runtime = runtime_of(request)
    q = q.strip()[:MAX_ID]
    with runtime.reader() as con:
        found = find_customers(con, q) if q else []
    if len(found) == 1 and found[0] == q:
        return RedirectResponse(f"/customers/{quote(q, safe='')}", status_code=303)
    return page(request, "customers.html", session, q=q, found=found)


@router.get("/customers/{customer_id}")
def customer_page(request: Request, session: ViewerDep, customer_id: str) -> HTMLResponse:
    runtime = runtime_of(request)
    if not customer_id or len(customer_id) > MAX_ID:
        return not_found(request, session, "No such customer.")
    try:
        with runtime.reader() as con:
            journey = svc.journey(con, customer_id)
    except svc.CustomerNotFound:
        return not_found(request, session, "No customer with this id: never seen, or erased.")
    silos = list(runtime.lifecycle.silos)
    runs = journey_runs(journey.steps)
    return page(
        request,
        "customer.html",
        session,
        journey=journey,
        runs=runs,
        silos=silos,
        silo_index={s: i for i, s in enumerate(silos)},
    )
