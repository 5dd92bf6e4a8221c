"""A case never skips a state: any sequence of actions walks the graph one step at a time."""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools

from apihelpers import make_runtime, signal
from hypothesis import given, settings
from hypothesis import strategies as st

from gapwatch.domain.cases import ORDER, CaseAction, CaseState, TransitionError, apply, is_step
from gapwatch.quality import cases as svc
from gapwatch.quality.alerts import raise_alert

ACTIONS = st.sampled_from(list(CaseAction))


@given(st.lists(st.tuples(ACTIONS, st.integers(0, 10)), max_size=40))
def test_domain_never_skips_a_state(steps: list[tuple[CaseAction, int]]) -> None:
    state = CaseState.OPEN
    for action, in_control in steps:
        try:
            after = apply(state, action, periods_in_control=in_control, periods_required=5)
        except TransitionError:
            continue
        assert is_step(state, after)
        if after is not CaseState.REOPENED and after is not state:
            assert ORDER[after] == ORDER[state] + 1  # forward, one step at a time
        if after is CaseState.CLOSED and state is not CaseState.CLOSED:
            assert in_control >= 5  # closing (not a comment on a closed case) needs the periods
        state = after


RUNTIME = make_runtime()
STREAMS = itertools.count()
PERSON = st.sampled_from(["acknowledge", "record_action", "verify", "close", "comment", "signal"])


@settings(max_examples=40, deadline=None)
@given(st.lists(PERSON, min_size=1, max_size=15))
def test_stored_audit_trail_never_skips_a_state(steps: list[str]) -> None:
    segment = f"s{next(STREAMS)}"  # a fresh stream (and so a fresh case) per example
    day = dt.date(2026, 1, 1)

    def raise_one(d: dt.date) -> str:
        facts = signal(segment=segment, period=d)
        alert = RUNTIME.write(lambda c: raise_alert(c, facts, RUNTIME.lifecycle, RUNTIME.config))
        assert alert is not None
        return str(alert.case_id)

    case_id = raise_one(day)
    data = svc.ActionInput(cause="c", action_kind=svc.ActionKind.PROCESS_CHANGE, action="a")
    for n, step in enumerate(steps):
        if step == "signal":
            raise_one(day + dt.timedelta(days=n + 1))
            continue
        with contextlib.suppress(TransitionError):
            RUNTIME.write(
                lambda c, s=step: svc.act(c, case_id, CaseAction(s), "tester", data, periods_required=0)
            )
    with RUNTIME.reader() as con:
        trail = svc.case_events(con, case_id)
        final = svc.get_case(con, case_id).state
    assert [e.seq for e in trail] == list(range(1, len(trail) + 1))
    assert trail[0].from_state is None and trail[0].to_state is CaseState.OPEN
    for before, event in itertools.pairwise(trail):
        assert event.from_state == before.to_state
        assert event.from_state is not None and is_step(event.from_state, event.to_state)
    assert trail[-1].to_state == final
