"""Score a monitor run against known incidents (the simulator's truth): detection day, delay, false alarms.

Used by the demo only, after detection has run on the observable data.  A signal counts for an
incident when it says "worse", falls between the incident's start and ``GRACE_DAYS`` after its
end, and is on the incident's own stream, or on its moment's parent stream with the incident's
segment the largest contributor of excess misses over the signal's period (the nested-stream
attribution of the SPC engine, ``explain_by_children``).  A *systemic* incident (``"systemic": true``
in the truth, segment ``all``) multiplies the miss probability of every segment of its moment x
metric: any "worse" signal on that moment x metric counts for it, first of all on the moment's
parent stream (segment ``*``, shown as "(all segments)"), and none of those streams has a false alarm
while it lasts.

The NPS "showed" an incident on the day its first NPS signal became known: a week below its lower
limit (``NpsChart.drop``, the only signal ``monitor/nps.py`` raises) that starts on or after the
incident's start and no later than ``NPS_WINDOW_DAYS`` after its end (``SYSTEMIC_NPS_WINDOW_DAYS``
for a systemic incident: it lets down customers at every stage of their journey, and the last of
them answer about seven weeks after it ends).  A drop inside several incidents' windows is
credited to the one with the most let-down customers who answered (``nps_owners``).  A drop outside every
incident's window is an NPS false alarm.  Without the window, any later drop (another incident's,
or noise) would be credited to every earlier incident.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np

from gapwatch.detectors.choose import explain_by_children
from gapwatch.monitor.nps import NpsChart
from gapwatch.monitor.run import ALL_SEGMENTS, MonitorResult, Signal
from gapwatch.monitor.summary import stream_label
from gapwatch.report import IncidentLine

__all__ = [
    "GRACE_DAYS",
    "NPS_WINDOW_DAYS",
    "SYSTEMIC_NPS_WINDOW_DAYS",
    "count_false_alarms",
    "count_nps_false_alarms",
    "is_systemic",
    "nps_owners",
    "nps_showed",
    "nps_window_days",
    "score_incidents",
    "top_segment",
]

GRACE_DAYS = 7
NPS_WINDOW_DAYS = 28  # survey answers come at the end of journeys that take weeks: allow four more
# A systemic delivery incident (x3, six weeks) still moves the weekly NPS by 5+ points seven weeks
# after its end (measured against the same world without it, seeds 1, 3, 7, 42): allow eight.
SYSTEMIC_NPS_WINDOW_DAYS = 56


def is_systemic(incident: dict[str, Any]) -> bool:
    """An incident on every segment of its moment x metric (truth.json: ``"systemic": true``)."""
    return bool(incident.get("systemic", False))


def nps_window_days(incident: dict[str, Any]) -> int:
    """Days after an incident's end in which a week's NPS drop can still be credited to it."""
    return SYSTEMIC_NPS_WINDOW_DAYS if is_systemic(incident) else NPS_WINDOW_DAYS


def _day(text: str) -> dt.date:
    return dt.date.fromisoformat(text[:10])


def top_segment(result: MonitorResult, signal: Signal) -> str | None:
    """The child segment with the most excess misses in a parent signal's period, or None."""
    daily, base = result.daily, result.baseline
    if daily is None or base is None:
        return None
    rows = [
        i
        for i, (m, s, k) in enumerate(daily.keys)
        if m == signal.moment and k == signal.metric and s != ALL_SEGMENTS
    ]
    days = (daily.periods >= np.datetime64(signal.period_start, "D")) & (
        daily.periods <= np.datetime64(signal.period, "D")
    )
    if not rows or not days.any():
        return None
    missed = np.nan_to_num(daily.sums["missed"][rows])
    n = np.nan_to_num(daily.sums["n"][rows])
    with np.errstate(divide="ignore", invalid="ignore"):
        p0 = np.where(base[rows], missed, 0).sum(axis=1) / np.where(base[rows], n, 0).sum(axis=1)
    ranked = explain_by_children(
        missed[:, days].sum(axis=1, keepdims=True),
        n[:, days].sum(axis=1, keepdims=True),
        np.nan_to_num(p0),
        0,
    )
    if not ranked or ranked[0].excess <= 0:
        return None
    return daily.keys[rows[ranked[0].child]][1]


def _counts_for(result: MonitorResult, signal: Signal, incident: dict[str, Any]) -> bool:
    same = (signal.moment, signal.metric) == (incident["moment"], incident["metric"])
    if not same or signal.direction != "worse":
        return False
    if not _day(incident["start"]) <= signal.period <= _day(incident["end"]) + dt.timedelta(days=GRACE_DAYS):
        return False
    if signal.segment == incident["segment"] or is_systemic(incident):
        return True
    return signal.segment == ALL_SEGMENTS and top_segment(result, signal) == incident["segment"]


def score_incidents(
    result: MonitorResult, incidents: Sequence[dict[str, Any]], nps: NpsChart | None
) -> list[IncidentLine]:
    """For each incident: the first signal that counts for it, its delay, and the first NPS drop."""
    lines = []
    owners = nps_owners(nps, incidents) if nps else {}
    for n, inc in enumerate(incidents):
        start = _day(inc["start"])
        first = _first_signal(result, inc)
        lines.append(
            IncidentLine(
                id=str(inc.get("id", "")),
                moment=inc["moment"],
                segment=inc["segment"],
                metric=inc["metric"],
                size=float(inc["size"]),
                start=start,
                end=_day(inc["end"]),
                detected=first.period if first else None,
                detected_by=(
                    f"{stream_label((first.moment, first.segment, first.metric))} ({first.chart})"
                    if first
                    else ""
                ),
                delay_days=(first.period - start).days if first else None,
                nps_day=next((nps.known_on[w] for w in sorted(owners) if n in owners[w]), None)
                if nps
                else None,
            )
        )
    return lines


def nps_owners(nps: NpsChart, incidents: Sequence[dict[str, Any]]) -> dict[int, list[int]]:
    """For each NPS drop (week index) inside some incident's window: the incidents credited with it.

    The NPS is one number and cannot tell causes apart. When a drop's week lies in several
    windows, it goes to the incident with the most let-down customers who answered the survey
    (``customers_missed_answered`` in the truth; ties share it). Otherwise a systemic incident's
    long window would hand its drop to every local incident that overlaps it.
    """
    owners: dict[int, list[int]] = {}
    for w, (week, flag) in enumerate(zip(nps.weeks, nps.drop, strict=True)):
        inside = [
            n
            for n, i in enumerate(incidents)
            if flag and _in_window(week, _day(i["start"]), _day(i["end"]), nps_window_days(i))
        ]
        if inside:
            most = max(_answered(incidents[n]) for n in inside)
            owners[w] = [n for n in inside if _answered(incidents[n]) == most]
    return owners


def _answered(incident: dict[str, Any]) -> int:
    return int(incident.get("customers_missed_answered", 0))


def _first_signal(result: MonitorResult, incident: dict[str, Any]) -> Signal | None:
    """The first signal that counts; for a systemic incident, the parent stream's wins a tie."""
    found = [s for s in result.signals if _counts_for(result, s, incident)]
    if not found:
        return None
    wide = is_systemic(incident)
    return min(found, key=lambda s: (s.period, wide and s.segment != ALL_SEGMENTS))  # stable on ties


def _in_window(week: dt.date, start: dt.date, end: dt.date, days: int = NPS_WINDOW_DAYS) -> bool:
    return start <= week <= end + dt.timedelta(days=days)


def nps_showed(
    nps: NpsChart, start: dt.date, end: dt.date, window_days: int = NPS_WINDOW_DAYS
) -> dt.date | None:
    """Day the first NPS drop was known in a week starting in [start, end + window_days], or None."""
    for week, known, flag in zip(nps.weeks, nps.known_on, nps.drop, strict=True):
        if flag and _in_window(week, start, end, window_days):
            return known
    return None


def count_nps_false_alarms(nps: NpsChart | None, incidents: Sequence[dict[str, Any]]) -> int:
    """NPS drops in weeks that start outside every incident's window."""
    if nps is None:
        return 0
    windows = [(_day(i["start"]), _day(i["end"]), nps_window_days(i)) for i in incidents]
    return sum(
        bool(flag) and not any(_in_window(week, a, b, d) for a, b, d in windows)
        for week, flag in zip(nps.weeks, nps.drop, strict=True)
    )


def count_false_alarms(result: MonitorResult, incidents: Sequence[dict[str, Any]]) -> int:
    """Signals on streams that carry no incident: neither the incident's stream nor its parent.

    A systemic incident carries every stream of its moment x metric: the parent and each segment.
    """
    hit = {(i["moment"], i["segment"], i["metric"]) for i in incidents}
    hit |= {(i["moment"], ALL_SEGMENTS, i["metric"]) for i in incidents}
    everywhere = {(i["moment"], i["metric"]) for i in incidents if is_systemic(i)}
    return sum(
        (s.moment, s.segment, s.metric) not in hit and (s.moment, s.metric) not in everywhere
        for s in result.signals
    )
