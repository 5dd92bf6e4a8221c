"""Cases: the corrective-action loop, with every change in the audit trail.

An alert opens a case for its stream, or joins the stream's active one; a signal on a
stream whose case is verifying (or closed) reopens it. People acknowledge, record the
cause and action (a standard change — a new expectation version — or a process change)
and start verification; :func:`sweep_verifying` closes a case once its stream has stayed
in control for the required number of closed periods. Every function here runs inside
the writer's transaction (writes) or on a reader (reads).
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass
from typing import Any

from gapwatch.domain.cases import ActionKind, CaseAction, CaseState, TransitionError, apply
from gapwatch.sqlport import Sql, has_tables, one, rows

SYSTEM_ACTOR = "gapwatch"


class CaseNotFound(LookupError):
    """No case with that id."""


@dataclass(frozen=True, slots=True)
class Case:
    id: str
    silo: str
    stage: str
    moment: str
    segment: str
    metric: str
    state: CaseState
    opened_at: dt.datetime
    updated_at: dt.datetime
    acknowledged_by: str | None
    acknowledged_at: dt.datetime | None
    cause: str | None
    action_kind: ActionKind | None
    action: str | None
    expectation_version: str | None
    verify_from: dt.date | None
    closed_at: dt.datetime | None
    reopen_count: int
    last_signal_period: dt.date | None


@dataclass(frozen=True, slots=True)
class CaseEvent:
    case_id: str
    seq: int
    recorded_at: dt.datetime
    actor: str
    action: str
    from_state: CaseState | None
    to_state: CaseState
    detail: dict[str, Any]


def case_from_row(row: dict[str, Any]) -> Case:
    row = dict(row)
    row["state"] = CaseState(row["state"])
    row["action_kind"] = ActionKind(row["action_kind"]) if row["action_kind"] else None
    return Case(**row)


def get_case(con: Sql, case_id: str) -> Case:
    row = one(con, "SELECT * FROM cases WHERE id = ?", [case_id])
    if row is None:
        raise CaseNotFound(case_id)
    return case_from_row(row)


def list_cases(
    con: Sql,
    *,
    silo: str | None = None,
    state: str | None = None,
    moment: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Case]:
    found = rows(
        con,
        "SELECT * FROM cases WHERE (? IS NULL OR silo = ?) AND (? IS NULL OR state = ?)"
        " AND (? IS NULL OR moment = ?) ORDER BY opened_at DESC, id LIMIT ? OFFSET ?",
        [silo, silo, state, state, moment, moment, limit, offset],
    )
    return [case_from_row(r) for r in found]


def case_events(con: Sql, case_id: str) -> list[CaseEvent]:
    found = rows(con, "SELECT * FROM case_events WHERE case_id = ? ORDER BY seq", [case_id])
    return [
        CaseEvent(
            case_id=r["case_id"],
            seq=r["seq"],
            recorded_at=r["recorded_at"],
            actor=r["actor"],
            action=r["action"],
            from_state=CaseState(r["from_state"]) if r["from_state"] else None,
            to_state=CaseState(r["to_state"]),
            detail=json.loads(r["detail"]),
        )
        for r in found
    ]


def audit(
    con: Sql,
    case_id: str,
    actor: str,
    action: str,
    before: CaseState | None,
    after: CaseState,
    detail: dict[str, Any],
    now: dt.datetime,
) -> None:
    seq_row = one(
        con, "SELECT coalesce(max(seq), 0) + 1 AS seq FROM case_events WHERE case_id = ?", [case_id]
    )
    seq = int(seq_row["seq"]) if seq_row else 1
    con.execute(
        "INSERT INTO case_events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            f"ce_{secrets.token_hex(8)}",
            case_id,
            seq,
            now,
            actor,
            action,
            before.value if before else None,
            after.value,
            json.dumps(detail, default=str, sort_keys=True),
        ],
    )


def open_or_join(
    con: Sql,
    *,
    silo: str,
    stage: str,
    moment: str,
    segment: str,
    metric: str,
    period: dt.date,
    alert_id: str,
    now: dt.datetime | None = None,
) -> str:
    """The case an alert on this stream belongs to: joined, reopened or newly opened."""
    now = now or dt.datetime.now(dt.UTC)
    latest = one(
        con,
        "SELECT id, state FROM cases WHERE moment = ? AND segment = ? AND metric = ?"
        " ORDER BY opened_at DESC, id DESC LIMIT 1",
        [moment, segment, metric],
    )
    detail = {"alert_id": alert_id, "period": period.isoformat()}
    if latest is not None:
        case_id, state = str(latest["id"]), CaseState(latest["state"])
        if state in (CaseState.VERIFYING, CaseState.CLOSED):
            after = apply(state, CaseAction.REOPEN)
            con.execute(
                "UPDATE cases SET state = ?, updated_at = ?, reopen_count = reopen_count + 1,"
                " verify_from = NULL, closed_at = NULL, last_signal_period = ? WHERE id = ?",
                [after.value, now, period, case_id],
            )
            audit(con, case_id, SYSTEM_ACTOR, CaseAction.REOPEN.value, state, after, detail, now)
            return case_id
        con.execute(
            "UPDATE cases SET updated_at = ?, last_signal_period = greatest(coalesce("
            "last_signal_period, ?), ?) WHERE id = ?",
            [now, period, period, case_id],
        )
        audit(con, case_id, SYSTEM_ACTOR, "join", state, state, detail, now)
        return case_id
    case_id = f"cs_{secrets.token_hex(6)}"
    con.execute(
        "INSERT INTO cases (id, silo, stage, moment, segment, metric, state, opened_at, updated_at,"
        " reopen_count, last_signal_period) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)",
        [case_id, silo, stage, moment, segment, metric, CaseState.OPEN.value, now, now, period],
    )
    audit(con, case_id, SYSTEM_ACTOR, "open", None, CaseState.OPEN, detail, now)
    return case_id


@dataclass(frozen=True, slots=True)
class ActionInput:
    """What a person supplies with an action (all optional except where the action needs it)."""

    note: str | None = None
    cause: str | None = None
    action_kind: ActionKind | None = None
    action: str | None = None
    expectation_version: str | None = None
    verify_from: dt.date | None = None


def act(
    con: Sql,
    case_id: str,
    action: CaseAction,
    actor: str,
    data: ActionInput,
    *,
    periods_required: int,
    today: dt.date | None = None,
    now: dt.datetime | None = None,
) -> Case:
    """Apply a person's ``action`` to a case; raises TransitionError when not allowed."""
    now = now or dt.datetime.now(dt.UTC)
    case = get_case(con, case_id)
    if action is CaseAction.RECORD_ACTION and (not data.cause or data.action_kind is None or not data.action):
        raise TransitionError("recording the action needs a cause, an action_kind and an action")
    if action is CaseAction.REOPEN:
        raise TransitionError("a case reopens when its stream signals again, not by hand")
    in_control = periods_in_control(con, case) if action is CaseAction.CLOSE else 0
    after = apply(case.state, action, periods_in_control=in_control, periods_required=periods_required)
    updates: dict[str, Any] = {"state": after.value, "updated_at": now}
    if action is CaseAction.ACKNOWLEDGE:
        updates |= {"acknowledged_by": actor, "acknowledged_at": now}
    elif action is CaseAction.RECORD_ACTION:
        assert data.action_kind is not None
        updates |= {
            "cause": data.cause,
            "action_kind": data.action_kind.value,
            "action": data.action,
            "expectation_version": data.expectation_version,
        }
    elif action is CaseAction.VERIFY:
        updates["verify_from"] = data.verify_from or today or now.date()
    elif action is CaseAction.CLOSE:
        updates["closed_at"] = now
    sets = ", ".join(f"{k} = ?" for k in updates)
    con.execute(f"UPDATE cases SET {sets} WHERE id = ?", [*updates.values(), case_id])
    detail = {k: v for k, v in _detail(data).items() if v is not None}
    if action is CaseAction.CLOSE:
        detail["periods_in_control"] = in_control
    audit(con, case_id, actor, action.value, case.state, after, detail, now)
    return get_case(con, case_id)


def _detail(data: ActionInput) -> dict[str, Any]:
    return {
        "note": data.note,
        "cause": data.cause,
        "action": data.action,
        "action_kind": data.action_kind.value if data.action_kind else None,
        "expectation_version": data.expectation_version,
        "verify_from": data.verify_from.isoformat() if data.verify_from else None,
    }


def periods_in_control(con: Sql, case: Case) -> int:
    """Closed periods of the case's stream since verification began without any signal.

    Reads the monitor's ``stream_periods`` and ``signals`` tables; with either missing the
    stream has no recorded periods and the answer is 0.
    """
    if case.verify_from is None or not has_tables(con, "stream_periods", "signals"):
        return 0
    key = [case.moment, case.segment, case.metric, case.verify_from]
    signalled = one(
        con,
        "SELECT count(*) AS c FROM signals WHERE moment = ? AND segment = ? AND metric = ?"
        " AND period >= ? AND NOT coalesce(provisional, false)",
        key,
    )
    if signalled and int(signalled["c"]) > 0:
        return 0
    closed = one(
        con,
        "SELECT count(DISTINCT period) AS c FROM stream_periods WHERE moment = ? AND segment = ?"
        " AND metric = ? AND period >= ? AND period < (SELECT max(period) FROM stream_periods)",
        key,
    )
    return int(closed["c"]) if closed else 0


def sweep_verifying(con: Sql, periods_required: int, now: dt.datetime | None = None) -> list[str]:
    """Close every verifying case whose stream stayed in control long enough; returns their ids."""
    closed: list[str] = []
    for case in list_cases(con, state=CaseState.VERIFYING.value, limit=10_000):
        if periods_in_control(con, case) >= periods_required:
            act(
                con,
                case.id,
                CaseAction.CLOSE,
                SYSTEM_ACTOR,
                ActionInput(note="stream back in control"),
                periods_required=periods_required,
                now=now,
            )
            closed.append(case.id)
    return closed
