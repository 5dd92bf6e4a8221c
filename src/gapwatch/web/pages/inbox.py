"""``/inbox``: the cases and alerts of the viewer's silo (every silo for analysts and admins).

Each row acts without a reload (htmx): acknowledge, record cause and action, start verifying,
close, comment, and a true / false alarm verdict on the latest alert. The forms post to the
same service functions as ``POST /v1/cases/{id}/actions`` and ``POST /v1/alerts/{id}/verdict``,
under the same rule (a member acts on their own silo only); a refused action comes back as
the row with the reason, and the audit trail records every change.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from gapwatch.auth.sessions import Session
from gapwatch.domain.access import Role
from gapwatch.domain.alerts import Verdict
from gapwatch.domain.cases import ActionKind, CaseAction, TransitionError
from gapwatch.quality import alerts as alert_svc
from gapwatch.quality import cases as case_svc
from gapwatch.quality.inbox import InboxItem, case_timeline, inbox, inbox_item
from gapwatch.web.auth import CheckedForm, ViewerDep
from gapwatch.web.pages.common import can_act, not_found, runtime_of
from gapwatch.web.render import page, partial

router = APIRouter(include_in_schema=False)


@router.get("/inbox")
def inbox_page(request: Request, session: ViewerDep, silo: str = "") -> HTMLResponse:
    runtime = runtime_of(request)
    member = session.principal.role is Role.MEMBER
    chosen = session.principal.silo if member else (silo if silo in runtime.lifecycle.silos else None)
    with runtime.reader() as con:
        items = inbox(con, silo=chosen)
    return page(
        request,
        "inbox.html",
        session,
        items=[(i, *can_act(session, i.case.silo)) for i in items],
        silos=runtime.lifecycle.silos,
        chosen=chosen,
        member=member,
    )


def _row(request: Request, session: Session, case_id: str, view: str, **extra: Any) -> HTMLResponse:
    runtime = runtime_of(request)
    with runtime.reader() as con:
        item = inbox_item(con, case_id)
        events = case_timeline(con, case_id) if view == "case" else []
    if item is None:
        return not_found(request, session, f"No case {case_id!r}.")
    allowed, reason = can_act(session, item.case.silo)
    template = "_case_actions.html" if view == "case" else "_inbox_row.html"
    status = int(extra.pop("status", 200))
    return partial(
        request, template, session, status, item=item, allowed=allowed, reason=reason, events=events, **extra
    )


def _input(form: Any) -> case_svc.ActionInput:
    def text(name: str) -> str | None:
        value = str(form.get(name) or "").strip()
        return value[:2000] or None

    kind = text("action_kind")
    return case_svc.ActionInput(
        note=text("note"),
        cause=text("cause"),
        action_kind=ActionKind(kind) if kind in {k.value for k in ActionKind} else None,
        action=text("action_text"),
        expectation_version=text("expectation_version"),
    )


@router.post("/cases/{case_id}/act")
def act_on_case(request: Request, session: ViewerDep, form: CheckedForm, case_id: str) -> HTMLResponse:
    runtime = runtime_of(request)
    view = "case" if form.get("view") == "case" else "row"
    with runtime.reader() as con:
        item: InboxItem | None = inbox_item(con, case_id)
    if item is None:
        return not_found(request, session, f"No case {case_id!r}.")
    allowed, reason = can_act(session, item.case.silo)
    if not allowed:
        return _row(request, session, case_id, view, error=f"Refused: {reason}.", status=403)
    raw = str(form.get("action") or "")
    if raw not in {a.value for a in CaseAction} or raw == CaseAction.REOPEN.value:
        return _row(request, session, case_id, view, error=f"Unknown action {raw[:40]!r}.", status=400)
    data, actor, required = _input(form), session.principal.name, runtime.settings.verify_periods
    try:
        runtime.write(
            lambda w: case_svc.act(w, case_id, CaseAction(raw), actor, data, periods_required=required)
        )
    except TransitionError as exc:
        return _row(request, session, case_id, view, error=f"Not done: {exc}.", status=409)
    return _row(
        request, session, case_id, view, done=f"{raw.replace('_', ' ')}: recorded in the audit trail."
    )


@router.post("/alerts/{alert_id}/verdict")
def mark_alert(request: Request, session: ViewerDep, form: CheckedForm, alert_id: str) -> HTMLResponse:
    runtime = runtime_of(request)
    view = "case" if form.get("view") == "case" else "row"
    try:
        with runtime.reader() as con:
            alert = alert_svc.get_alert(con, alert_id)
    except alert_svc.AlertNotFound:
        return not_found(request, session, f"No alert {alert_id!r}.")
    allowed, reason = can_act(session, alert.silo)
    if not allowed:
        return _row(request, session, alert.case_id, view, error=f"Refused: {reason}.", status=403)
    raw = str(form.get("verdict") or "")
    if raw not in {v.value for v in Verdict}:
        return _row(
            request, session, alert.case_id, view, error="A verdict is true_alarm or false_alarm.", status=400
        )
    runtime.write(lambda w: alert_svc.mark_alert(w, alert_id, Verdict(raw), session.principal.name))
    return _row(request, session, alert.case_id, view, done=f"Alert marked a {raw.replace('_', ' ')}.")
