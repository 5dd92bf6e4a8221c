"""The corrective-action loop as a state machine (DESIGN.md, "case").

A case runs open → acknowledged → action recorded → verifying → closed. A new signal on its
stream while verifying (or after closing) reopens it, and a reopened case walks the same
path again. A case still worked on may *re-baseline* its stream (the shift is the new normal:
its limits start over from a date), like a comment, without changing its state. No step
may be skipped: :func:`apply` accepts only the transitions in :data:`TRANSITIONS`, and
closing needs the stream to have stayed in control for the required number of periods.

Examples
--------
>>> s = apply(CaseState.OPEN, CaseAction.ACKNOWLEDGE)
>>> s = apply(s, CaseAction.RECORD_ACTION)
>>> s = apply(s, CaseAction.VERIFY)
>>> apply(s, CaseAction.CLOSE, periods_in_control=7, periods_required=7).value
'closed'
>>> apply(CaseState.OPEN, CaseAction.VERIFY)
Traceback (most recent call last):
...
gapwatch.domain.cases.TransitionError: cannot verify a case that is open (allowed: acknowledge, comment)
"""

from __future__ import annotations

from enum import StrEnum


class CaseState(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    ACTION_RECORDED = "action_recorded"
    VERIFYING = "verifying"
    CLOSED = "closed"
    REOPENED = "reopened"


class CaseAction(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    RECORD_ACTION = "record_action"
    VERIFY = "verify"
    CLOSE = "close"
    REOPEN = "reopen"
    COMMENT = "comment"
    REBASELINE = "rebaseline"  # the stream's new normal: new limits from a date (no state change)


class ActionKind(StrEnum):
    """What the corrective action changed."""

    STANDARD_CHANGE = "standard_change"  # a new expectation version
    PROCESS_CHANGE = "process_change"


TRANSITIONS: dict[CaseState, dict[CaseAction, CaseState]] = {
    CaseState.OPEN: {CaseAction.ACKNOWLEDGE: CaseState.ACKNOWLEDGED},
    CaseState.REOPENED: {CaseAction.ACKNOWLEDGE: CaseState.ACKNOWLEDGED},
    CaseState.ACKNOWLEDGED: {CaseAction.RECORD_ACTION: CaseState.ACTION_RECORDED},
    CaseState.ACTION_RECORDED: {CaseAction.VERIFY: CaseState.VERIFYING},
    CaseState.VERIFYING: {CaseAction.CLOSE: CaseState.CLOSED, CaseAction.REOPEN: CaseState.REOPENED},
    CaseState.CLOSED: {CaseAction.REOPEN: CaseState.REOPENED},
}

# Where each state sits on the forward path; a reopened case starts again at the front.
ORDER: dict[CaseState, int] = {
    CaseState.OPEN: 0,
    CaseState.REOPENED: 0,
    CaseState.ACKNOWLEDGED: 1,
    CaseState.ACTION_RECORDED: 2,
    CaseState.VERIFYING: 3,
    CaseState.CLOSED: 4,
}

ACTIVE_STATES = frozenset(s for s in CaseState if s is not CaseState.CLOSED)


class TransitionError(ValueError):
    """An action that the case's current state does not allow."""


def allowed_actions(state: CaseState) -> list[CaseAction]:
    """The actions a case in ``state`` accepts (a comment is always allowed; re-baselining while
    the case is worked on, i.e. not once it is verifying or closed)."""
    extra = [CaseAction.REBASELINE] if state not in (CaseState.VERIFYING, CaseState.CLOSED) else []
    return [*TRANSITIONS.get(state, {}), CaseAction.COMMENT, *extra]


def apply(
    state: CaseState,
    action: CaseAction,
    *,
    periods_in_control: int = 0,
    periods_required: int = 0,
) -> CaseState:
    """Return the state after ``action``, or raise :class:`TransitionError`.

    Parameters
    ----------
    state, action
        The current state and the requested action.
    periods_in_control
        Closed periods the stream has stayed in control since verification began.
    periods_required
        How many such periods closing needs (``cases.verify_periods`` in the settings).
    """
    if action is CaseAction.COMMENT:
        return state
    if action is CaseAction.REBASELINE:
        if action not in allowed_actions(state):
            names = ", ".join(a.value for a in allowed_actions(state))
            raise TransitionError(f"cannot rebaseline a case that is {state.value} (allowed: {names})")
        return state
    target = TRANSITIONS.get(state, {}).get(action)
    if target is None:
        names = ", ".join(a.value for a in allowed_actions(state))
        raise TransitionError(f"cannot {action.value} a case that is {state.value} (allowed: {names})")
    if action is CaseAction.CLOSE and periods_in_control < periods_required:
        raise TransitionError(
            f"the stream has been in control for {periods_in_control} period(s) since verification "
            f"began; closing needs {periods_required}"
        )
    return target


def is_step(before: CaseState, after: CaseState) -> bool:
    """True when ``after`` is ``before`` or one step from it: the invariant the audit trail keeps."""
    return before == after or after in TRANSITIONS.get(before, {}).values()
