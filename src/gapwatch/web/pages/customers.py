"""``/customers`` (a search box) and ``/customers/{id}``: one customer's journey across every silo.

The customer page also shows the customer's outcome risk now (the stored journey model on their
events so far, with the moments behind it; ``GET /v1/customers/{id}/risk``) and what the text
analysis found in their comments: language, sentiment, emotions and intents.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gapwatch.customers import journey as svc
from gapwatch.customers.journey_view import journey_runs
from gapwatch.customers.search import find_customers
from gapwatch.domain.bounds import MAX_IDENTIFIER, id_cases
from gapwatch.insight import risk as risk_svc
from gapwatch.insight.text_service import TextSignal, customer_signals
from gapwatch.web.auth import ViewerDep
from gapwatch.web.pages.common import not_found, runtime_of
from gapwatch.web.render import page

router = APIRouter(include_in_schema=False)
MAX_ID = MAX_IDENTIFIER  # the same limit as the ingest and the API


@router.get("/customers")
def search(request: Request, session: ViewerDep, q: str = "") -> Response:
    runtime = runtime_of(request)
    q = q.strip()[:MAX_ID]
    with runtime.reader() as con:
        found = find_customers(con, q) if q else []
    if len(found) == 1 and found[0] == q:
        return RedirectResponse(f"/customers/{quote(q, safe='')}", status_code=303)
    return page(request, "customers.html", session, q=q, found=found)


@router.get("/customers/{customer_id:path}")  # (an id may hold a slash, sent as %2F)
def customer_page(request: Request, session: ViewerDep, customer_id: str) -> HTMLResponse:
    runtime = runtime_of(request)
    if not customer_id or len(customer_id) > MAX_ID:
        return not_found(request, session, "No such customer.")
    silo_of = {m: runtime.lifecycle.silo_of(m) for m in runtime.lifecycle.moments}
    problem = None
    try:
        model = risk_svc.service_model(runtime.settings.workspace, runtime)
    except ValueError as exc:  # a model file of another version: the page says so
        model, problem = None, str(exc)
    try:
        with runtime.reader() as con:
            cases = id_cases(runtime.config)
            journey = svc.journey(con, customer_id, cases)
            risk = risk_svc.customer_risk(con, model, silo_of, customer_id, cases)
            signals = customer_signals(con, svc.require_keys(con, customer_id, cases))
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
        risk=risk,
        model=model,
        bad=risk_svc.bad_outcome(model) if model is not None else "",
        problem=problem,
        signals=signals,
        signal_of=_by_comment(signals),
        text_labels=_labels(signals),
    )


def _by_comment(signals: list[TextSignal]) -> dict[tuple[str, object, str], TextSignal]:
    """A journey step's comment → its analysis (a row's metrics share one comment)."""
    return {(s.source, s.occurred_at, s.moment): s for s in signals}


def _labels(signals: list[TextSignal]) -> list[tuple[str, int]]:
    """Emotion and intent labels over the customer's comments, most frequent first."""
    counts: dict[str, int] = {}
    for s in signals:
        for label in s.intents + s.emotions:
            counts[label] = counts.get(label, 0) + 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
