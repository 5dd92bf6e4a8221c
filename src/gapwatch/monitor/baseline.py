"""Baselines that find themselves: the first window that holds enough to estimate a stream's limits.

Real exports ramp up: the first four weeks of a young shop may hold a dozen orders. So a
stream's baseline (phase I) is not its first N calendar days but the first window, from its
first event (or the start of its current phase), that

* spans at least ``baseline_days`` days (four weeks by default: every weekday four times),
* holds at least ``baseline_events`` scored experiences, and
* holds at least ``baseline_misses`` misses, or ``baseline_events_rare`` experiences when
  misses are rare (a miss rate is known to about ±1/√misses; with none at all only a bound).

Calendar days that are not judged (``detection.calendar`` without a factor) count neither
to the span nor to the events. A stream still short of any of these is not judged yet, and
says so with numbers: "14 of 20 events needed for a baseline; at the current rate in about
4 days". ``detection.baseline_start`` fixes the window instead (every stream the same days).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from gapwatch.config.schema import DetectionSection
from gapwatch.monitor.arrays import StreamArrays

__all__ = ["Baselines", "find_baselines"]

BoolArray = NDArray[np.bool_]
FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]


@dataclass(frozen=True)
class Baselines:
    """Per stream: the baseline mask (S, T), whether it is complete, and what it says to people."""

    mask: BoolArray
    complete: BoolArray
    events: FloatArray
    misses: FloatArray
    note: list[str]


def _first_true(flags: BoolArray) -> IntArray:
    """Index of the first True per row, -1 when none."""
    found = flags.any(axis=1)
    return np.where(found, flags.argmax(axis=1), -1).astype(np.intp)


def find_baselines(
    daily: StreamArrays,
    detection: DetectionSection,
    skip: BoolArray | None = None,
    phase_start: IntArray | None = None,
) -> Baselines:
    """The baseline of every stream of the daily arrays (see the module's rules).

    ``skip`` marks (stream, day) cells not judged (calendar); ``phase_start`` is, per stream,
    the index of the first day of its current phase (0 when it has one phase).
    """
    s_count, t_count = daily.shape
    n = np.nan_to_num(daily.sums["n"])
    missed = np.nan_to_num(daily.sums["missed"])
    usable = n > 0
    if skip is not None:
        usable &= ~skip
    t = np.arange(t_count)[None, :]
    begin = np.zeros(s_count, dtype=np.intp) if phase_start is None else phase_start
    after = t >= begin[:, None]
    start = _first_true(usable & after)
    started = start >= 0
    inside = started[:, None] & (t >= start[:, None])
    n0 = np.where(inside & usable, n, 0.0)
    m0 = np.where(inside & usable, missed, 0.0)
    cn, cm = np.cumsum(n0, axis=1), np.cumsum(m0, axis=1)
    judged = inside if skip is None else inside & ~skip
    judged_days = np.cumsum(judged, axis=1)  # calendar days in the window, not counting skipped ones
    if detection.baseline_start is not None:
        return _fixed(daily, detection, usable, n0, m0, inside)
    enough = (
        inside
        & (judged_days >= detection.baseline_days)
        & (cn >= detection.baseline_events)
        & ((cm >= detection.baseline_misses) | (cn >= detection.baseline_events_rare))
    )
    end = _first_true(enough)
    complete = end >= 0
    last = np.where(complete, end, t_count - 1)
    mask = inside & (t <= last[:, None])
    rows = np.arange(s_count)
    events, misses = cn[rows, last], cm[rows, last]
    days = np.where(started, judged_days[rows, last], 0)
    dates = daily.dates()
    note = [
        _complete_note(dates[start[i]], dates[end[i]], events[i], misses[i])
        if complete[i]
        else _short_note(detection, float(events[i]), float(misses[i]), int(days[i]), bool(started[i]))
        for i in range(s_count)
    ]
    return Baselines(mask, complete, events, misses, note)


def _fixed(
    daily: StreamArrays,
    detection: DetectionSection,
    usable: BoolArray,
    n0: FloatArray,
    m0: FloatArray,
    inside: BoolArray,
) -> Baselines:
    """The configured window ``[baseline_start, + baseline_days)`` for every stream."""
    assert detection.baseline_start is not None
    lo = np.datetime64(detection.baseline_start, "D")
    hi = lo + np.timedelta64(detection.baseline_days, "D")
    window = (daily.periods >= lo) & (daily.periods < hi)
    mask = np.broadcast_to(window, usable.shape) & inside
    events = np.where(mask, n0, 0.0).sum(axis=1)
    misses = np.where(mask, m0, 0.0).sum(axis=1)
    complete = events >= detection.baseline_events
    span = f"{detection.baseline_start} – {(hi - np.timedelta64(1, 'D')).item()}"
    note = [
        f"baseline (fixed) {span}: {e:.0f} events, {m:.0f} misses"
        if ok
        else f"{e:.0f} of {detection.baseline_events} events in the fixed baseline {span}: not judged"
        for e, m, ok in zip(events.tolist(), misses.tolist(), complete.tolist(), strict=True)
    ]
    return Baselines(np.array(mask), complete, events, misses, note)


def _complete_note(start: dt.date, end: dt.date, events: float, misses: float) -> str:
    return f"baseline {start} – {end}: {events:.0f} events, {misses:.0f} misses"


def _short_note(d: DetectionSection, events: float, misses: float, days: int, started: bool) -> str:
    """Why a stream is not judged yet, with the numbers, and when it will be at the current rate."""
    if not started:
        return "no events yet"
    per_day = events / max(days, 1)
    rate = misses / events if events else 0.0

    def eta(need: float, per: float) -> float:
        return math.inf if per <= 0 else need / per

    waits = {
        "days": (max(d.baseline_days - days, 0), float(max(d.baseline_days - days, 0))),
        "events": (max(d.baseline_events - events, 0), eta(max(d.baseline_events - events, 0), per_day)),
        "misses": (
            max(d.baseline_misses - misses, 0),
            min(
                eta(max(d.baseline_misses - misses, 0), per_day * rate),
                eta(max(d.baseline_events_rare - events, 0), per_day),
            ),
        ),
    }
    short = {k: v for k, v in waits.items() if v[0] > 0}
    if not short:
        return "baseline complete"
    what, (_, wait) = max(short.items(), key=lambda kv: kv[1][1])
    when = "at the current rate in about " + (
        f"{math.ceil(wait)} day{'s' if math.ceil(wait) != 1 else ''}" if math.isfinite(wait) else "never"
    )
    if what == "days":
        return f"{days} of {d.baseline_days} days needed for a baseline; in {math.ceil(wait)} days"
    if what == "events":
        return f"{events:.0f} of {d.baseline_events} events needed for a baseline; {when}"
    return (
        f"{misses:.0f} of {d.baseline_misses} misses needed for a baseline (or {d.baseline_events_rare} "
        f"events); {when}"
    )
