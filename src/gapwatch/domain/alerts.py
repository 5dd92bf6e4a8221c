"""Alerts: a detector's signal, explained and routed to the silo that owns the moment.

An alert carries what a person needs to judge it without opening a chart: the stream,
the baseline period, the limits, the sample size, the statistic, the rule that fired, the
designed false-alarm rate (and ARL₀), and the moment's expectation with its Kano class.
Severity follows the Kano class: a missed *must-be* hurts most, a missed *attractive*
(delighter) least; a signal of improvement is informational.

Examples
--------
>>> severity("must-be", worse=True).value
'critical'
>>> severity("attractive", worse=True).value
'minor'
>>> severity("must-be", worse=False).value
'info'
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class Severity(StrEnum):
    CRITICAL = "critical"
    MAJOR = "major"
    MINOR = "minor"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is more severe (critical 3 … info 0)."""
        return {"critical": 3, "major": 2, "minor": 1, "info": 0}[self.value]


class AlertState(StrEnum):
    OPEN = "open"  # its case has not been acknowledged yet
    ACKNOWLEDGED = "acknowledged"  # someone works on its case
    RESOLVED = "resolved"  # its case closed


class Verdict(StrEnum):
    """A person's judgement of an alert."""

    TRUE_ALARM = "true_alarm"
    FALSE_ALARM = "false_alarm"


KANO_SEVERITY: dict[str, Severity] = {
    "must-be": Severity.CRITICAL,
    "one-dimensional": Severity.MAJOR,
    "attractive": Severity.MINOR,
}


def severity(kano: str | None, *, worse: bool) -> Severity:
    """Severity of a signal on a stream whose expectation has Kano class ``kano``."""
    if not worse:
        return Severity.INFO
    return KANO_SEVERITY.get(kano or "one-dimensional", Severity.MAJOR)


@dataclass(frozen=True, slots=True)
class SignalFacts:
    """What a detector reported; the input an alert is built from."""

    moment: str
    segment: str
    metric: str
    period: dt.date
    rule: str
    chart: str
    statistic: float
    center: float | None
    lcl: float | None
    ucl: float | None
    n: int
    baseline_start: dt.date | None = None
    baseline_end: dt.date | None = None
    provisional: bool = False
    arl0: float | None = None
    worse: bool | None = None  # None: judged from statistic vs centre (a miss rate going up is worse)

    @property
    def key(self) -> str:
        """A stable identity: the same signal never raises two alerts."""
        return "|".join(
            (self.moment, self.segment, self.metric, self.period.isoformat(), self.chart, self.rule)
        )

    @property
    def stream(self) -> str:
        return f"{self.moment}/{self.segment}/{self.metric}"

    def is_worse(self) -> bool:
        if self.worse is not None:
            return self.worse
        return self.center is None or self.statistic >= self.center


def designed_false_alarm_rate(false_alarms_per_week: float, period: str, arl0: float | None) -> float:
    """False alarms per period that a chart was designed for.

    A chart that reports its in-control ARL₀ gives 1/ARL₀; otherwise the workspace's
    ``detection.false_alarms_per_week`` is spread over the periods of a week.
    """
    if arl0 is not None and arl0 > 0:
        return 1.0 / arl0
    periods_per_week = 7.0 if period == "day" else 1.0
    return false_alarms_per_week / periods_per_week


class SignalLike(Protocol):
    """What grouping needs of a signal (the monitor's ``Signal`` and stored rows fit)."""

    @property
    def moment(self) -> str: ...
    @property
    def segment(self) -> str: ...
    @property
    def metric(self) -> str: ...
    @property
    def period(self) -> dt.date: ...
    @property
    def direction(self) -> str: ...
    @property
    def chart(self) -> str: ...


RATE_CHARTS = frozenset({"p", "pprime", "np", "bcusum", "g"})


def signal_kind(chart: str) -> str:
    """What a chart watches: "misses" (the miss rate: p, p′, per-event CUSUM) or "gap" (its mean: EWMA).

    >>> signal_kind("bcusum"), signal_kind("ewma")
    ('misses', 'gap')
    """
    return "misses" if chart in RATE_CHARTS else "gap"


@dataclass(frozen=True, slots=True)
class Episode:
    """One alert as people see it: a run of "worse" signals on a moment × metric (any segment) that
    say the same thing: more misses, or a lower mean gap."""

    moment: str
    metric: str
    first: dt.date
    last: dt.date
    signals: int
    segments: tuple[str, ...]
    kind: str = "misses"


def joins_episode(last: dt.date, period: dt.date, gap_days: int) -> bool:
    """Whether a signal on ``period`` grows an open alert whose latest signal was on ``last``.

    >>> joins_episode(dt.date(2025, 3, 1), dt.date(2025, 3, 10), 14), joins_episode(
    ...     dt.date(2025, 3, 1), dt.date(2025, 3, 20), 14)
    (True, False)
    """
    return (period - last).days <= gap_days


def episodes(signals: Iterable[SignalLike], gap_days: int = 28) -> list[Episode]:
    """ "Worse" signals grouped into alerts: per moment × metric (a moment's parent stream and its
    segments share one) and kind (more misses; a lower mean gap: two different messages), a
    signal within ``gap_days`` of the previous one grows the open alert, a later one opens a new
    alert. "Better" signals are reported apart and open none.

    This is the rule the service applies (``quality/alerts.py``) when no case action intervenes;
    the batch reports count alerts with it.
    """
    by_family: dict[tuple[str, str, str], list[SignalLike]] = {}
    for s in signals:
        if s.direction != "better":
            by_family.setdefault((s.moment, s.metric, signal_kind(s.chart)), []).append(s)
    out: list[Episode] = []
    for (moment, metric, kind), found in by_family.items():
        found.sort(key=lambda s: s.period)
        run: list[SignalLike] = []
        for s in found:
            if run and not joins_episode(run[-1].period, s.period, gap_days):
                out.append(_episode(moment, metric, kind, run))
                run = []
            run.append(s)
        if run:
            out.append(_episode(moment, metric, kind, run))
    return sorted(out, key=lambda e: (e.first, e.moment, e.metric, e.kind))


def _episode(moment: str, metric: str, kind: str, run: list[SignalLike]) -> Episode:
    segments = tuple(dict.fromkeys(s.segment for s in run))
    return Episode(moment, metric, run[0].period, run[-1].period, len(run), segments, kind)
