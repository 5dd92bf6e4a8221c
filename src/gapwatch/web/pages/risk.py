"""``/risk``: a silo's customers heading for a bad outcome while still on their journey.

The list is ``GET /v1/risk?silo=…`` as a page: customers whose risk (from the stored journey
model, re-scored on their events so far) crossed the model's flag level and who have a reason
(a moment whose misses raise their risk) in the silo, riskiest first. Every reader may see
every silo's list, as in the API; a member starts on their own silo, others on every silo.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from gapwatch.domain.access import Role
from gapwatch.insight import risk as risk_svc
from gapwatch.report.intervals import Interval, IntervalChart, IntervalGroup
from gapwatch.web.auth import ViewerDep
from gapwatch.web.pages.common import runtime_of
from gapwatch.web.render import page

router = APIRouter(include_in_schema=False)
SHOWN = 100


def _reasons_chart(found: risk_svc.RiskList, silo_of: dict[str, str], chosen: str | None) -> IntervalChart:
    """How many listed customers each moment is a reason for, and by how much it raises their risk."""
    drops: dict[str, list[float]] = {}
    for row in found.at_risk:
        for reason in row.risk.reasons if row.risk else []:
            if chosen is None or reason.silo == chosen:
                drops.setdefault(reason.moment, []).append(reason.risk_drop * 100)
    groups = []
    for moment, values in sorted(drops.items(), key=lambda kv: -len(kv[1])):
        values.sort()
        mid = values[len(values) // 2]
        tip = (
            f"{moment} ({silo_of.get(moment, '?')}): a reason for {len(values)} listed customers; "
            f"it raises their risk by {values[0]:.1f}–{values[-1]:.1f} points (median {mid:.1f})"
        )
        groups.append(
            IntervalGroup(
                f"{moment} ({len(values)})", [Interval(0, mid, values[0], values[-1], True, "", tip)]
            )
        )
    return IntervalChart(
        "What puts them at risk: moments of truth behind the listed customers' risk",
        "points of risk the moment adds (median, and the range over the customers it applies to); "
        "in brackets: how many listed customers",
        ["median rise in risk"],
        groups,
        reference=0.0,
        span_word="range over the customers",
    )


@router.get("/risk")
def risk_page(request: Request, session: ViewerDep, silo: str = "") -> HTMLResponse:
    runtime = runtime_of(request)
    silos = list(runtime.lifecycle.silos)
    member = session.principal.role is Role.MEMBER
    if silo == "*":
        chosen = None
    elif silo in silos:
        chosen = silo
    else:
        chosen = session.principal.silo if member else None
    silo_of = {m: runtime.lifecycle.silo_of(m) for m in runtime.lifecycle.moments}
    problem = None
    model = None
    try:
        model = risk_svc.service_model(runtime.settings.workspace, runtime)
    except ValueError as exc:  # a model file of another version: say so, list nothing
        problem = str(exc)
    found = risk_svc.at_risk(
        runtime.reader,
        model,
        silo_of,
        silo=chosen,
        limit=SHOWN,
        board=risk_svc.board_of(runtime),
        wait=False,  # a first scoring takes a minute on a large workspace: the page says so instead
    )
    return page(
        request,
        "risk.html",
        session,
        found=found,
        model=model,
        bad=risk_svc.bad_outcome(model) if model is not None else "",
        problem=problem,
        chart=_reasons_chart(found, silo_of, chosen) if found.at_risk else None,
        silos=silos,
        chosen=chosen,
        member=member,
        shown=SHOWN,
        silo_of=silo_of,
    )
