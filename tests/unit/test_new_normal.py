"""Drift and the new normal: one alert that grows while a stream stays out of control, and a case
that accepts the shift (re-baseline) starts the stream over with new limits."""

from __future__ import annotations

import datetime as dt

import numpy as np
from monitor_world import START, experiences, store

from gapwatch.adapters.service_schema import ensure_service_schema
from gapwatch.config import default_config
from gapwatch.domain.alerts import episodes
from gapwatch.domain.cases import ActionKind, CaseAction
from gapwatch.domain.lifecycle import Lifecycle
from gapwatch.monitor.phases import read_phases
from gapwatch.monitor.run import run_monitor
from gapwatch.quality import alerts as alert_svc
from gapwatch.quality import cases as case_svc
from gapwatch.report.figures import FigureContext, stream_figure
from gapwatch.report.svg import render_figure

STREAM = ("delivery", "standard", "delivery_days")
SHIFT = 50  # from this day on, misses for good run at twice the old rate


def _world() -> tuple[object, object]:
    con = store(experiences({STREAM: (60.0, lambda d: 0.08 * (2 if d >= SHIFT else 1))}, days=140, seed=5))
    ensure_service_schema(con)
    return con, default_config()


def test_a_new_normal_grows_one_alert_then_a_rebaseline_starts_the_stream_over() -> None:
    con, config = _world()
    lifecycle = Lifecycle.from_config(config)  # type: ignore[arg-type]
    result = run_monitor(con, config, clock="event")  # type: ignore[arg-type]
    worse = [s for s in result.signals if s.direction == "worse"]
    assert worse and min(s.period for s in worse) >= START + dt.timedelta(days=SHIFT)
    # the stream stays out of control: many signals, one alert that grows for each message (more
    # misses; a lower mean gap), in the stream's one case
    raised = alert_svc.sync_from_signals(con, lifecycle, config)  # type: ignore[arg-type]
    assert len(raised) == len(episodes(result.signals)) == 2
    assert len({a.case_id for a in raised}) == 1
    misses = next(a for a in raised if a.chart in ("p", "pprime"))
    alert = alert_svc.get_alert(con, misses.id)  # type: ignore[arg-type]
    rate = [s for s in worse if s.chart in ("p", "pprime")]
    assert alert.signals == len(rate) > 10 and alert.last_period == max(s.period for s in rate)
    # the case accepts the shift as the new normal from the alert's first signal
    case = case_svc.act(
        con,  # type: ignore[arg-type]
        alert.case_id,
        CaseAction.REBASELINE,
        "lead",
        case_svc.ActionInput(note="twice the misses is the new carrier's normal"),
        periods_required=7,
    )
    assert case.state.value == "open"
    events = [e.action for e in case_svc.case_events(con, case.id)]  # type: ignore[arg-type]
    assert events[-1] == "rebaseline"
    again = run_monitor(con, config, clock="event")  # type: ignore[arg-type]
    view = next(v for v in again.streams if v.key == STREAM)
    start = alert.period
    assert view.baseline_start is not None and view.baseline_start >= start
    assert f"new phase from {start}" in view.note
    after = [s for s in again.signals_of(STREAM) if s.period >= start and s.direction == "worse"]
    before = [s for s in again.signals_of(STREAM) if s.period < start]
    assert before == [s for s in result.signals_of(STREAM) if s.period < start]  # history kept
    assert len(after) <= 2  # against its new normal the stream is (nearly) quiet
    # the chart shows the old limits before the new phase and the new ones after it
    p = view.charts["miss_rate"]
    old_center = float(np.nanmedian(p.center[: SHIFT - 5]))
    new_center = float(np.nanmedian(p.center[-20:]))
    assert new_center > 1.6 * old_center
    # the stream's figure (web page and report) shows the new phase and both baselines
    ctx = FigureContext(
        config.detection, again.L, again.first_period, again.last_period, again.closed_through, again.weekday
    )
    fig = stream_figure(con, lifecycle, ctx, ":".join(STREAM))  # type: ignore[arg-type]
    phases = [w for w in fig.windows if w.css == "phase"]
    assert len(phases) == 1 and dt.date.fromordinal(int(phases[0].x0)) == start
    assert case.id in phases[0].label and "new carrier" in phases[0].label
    assert len([w for w in fig.windows if w.css == "baseline"]) == 2
    html = render_figure(fig)
    assert 'class="win phase"' in html and "new phase" in html


def test_better_signals_raise_no_alert() -> None:
    con = store(experiences({STREAM: (60.0, lambda d: 0.16 if d < 40 else 0.05)}, days=100, seed=9))
    ensure_service_schema(con)
    config = default_config()
    result = run_monitor(con, config, clock="event")
    better = {s.period for s in result.signals if s.direction == "better"}
    worse = {s.period for s in result.signals if s.direction == "worse"}
    assert len(better) > 10 and len(worse) <= 1  # the improvement, and at most a false alarm
    raised = alert_svc.sync_from_signals(con, Lifecycle.from_config(config), config)
    assert len(raised) == len(worse) and all(a.period in worse for a in raised)


def test_a_standard_change_recorded_on_the_case_starts_a_new_phase() -> None:
    con, config = _world()
    lifecycle = Lifecycle.from_config(config)  # type: ignore[arg-type]
    run_monitor(con, config, clock="event")  # type: ignore[arg-type]
    raised = alert_svc.sync_from_signals(con, lifecycle, config)  # type: ignore[arg-type]
    case_id = raised[0].case_id
    case_svc.act(con, case_id, CaseAction.ACKNOWLEDGE, "lead", case_svc.ActionInput(), periods_required=7)  # type: ignore[arg-type]
    start = START + dt.timedelta(days=SHIFT + 3)
    case_svc.act(
        con,  # type: ignore[arg-type]
        case_id,
        CaseAction.RECORD_ACTION,
        "lead",
        case_svc.ActionInput(
            cause="the carrier's new lead time",
            action_kind=ActionKind.STANDARD_CHANGE,
            action="promise 8 days, not 5",
            rebaseline_from=start,
        ),
        periods_required=7,
    )
    phases = read_phases(con)  # type: ignore[arg-type]
    assert phases == {STREAM: [start]}
    again = run_monitor(con, config, clock="event")  # type: ignore[arg-type]
    view = next(v for v in again.streams if v.key == STREAM)
    assert view.baseline_start is not None and view.baseline_start >= start
    assert f"new phase from {start}" in view.note
    # a process change (the old standard holds) does not start the stream over
    assert not case_svc.starts_phase(
        CaseAction.RECORD_ACTION, case_svc.ActionInput(action_kind=ActionKind.PROCESS_CHANGE)
    )
