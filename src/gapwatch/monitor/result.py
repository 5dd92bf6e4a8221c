"""What one monitor run found: the streams with their charts, the signals, the settings.

A plain value shared by the batch monitor, the per-event charts, the store writer and the
live service, so none of them imports another to name it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from gapwatch.monitor.arrays import StreamArrays
from gapwatch.monitor.charts import Signal, StreamView
from gapwatch.monitor.expected import Expected, Weekday

EPISODE_GAP_DAYS = 14  # signals closer than this belong to one episode
Key = tuple[str, str, str]


@dataclass(frozen=True)
class EventTrace:
    """The per-event Bernoulli CUSUM of one stream over its phase-II experiences, in event order.

    What the monitor judged, kept so that a figure draws the chart that raised the signals.
    """

    day: NDArray[np.int64]  # each experience's day, days since 1970-01-01
    statistic: NDArray[np.float64]  # B_t after the experience (0 again after a signal)
    h: NDArray[np.float64]  # the decision limit in force at it (it follows the stream's volume)
    arl0: NDArray[np.float64]  # the in-control ARL, in experiences, that h was set for
    signal: NDArray[np.bool_]
    p0: float  # the baseline's miss rate
    gamma: float  # the reference value at p₀ (each event's own follows its expected rate)

    def since(self, day: int) -> EventTrace:
        """The experiences from ``day`` on (days since 1970-01-01)."""
        keep = self.day >= day
        return EventTrace(
            self.day[keep],
            self.statistic[keep],
            self.h[keep],
            self.arl0[keep],
            self.signal[keep],
            self.p0,
            self.gamma,
        )

    def before(self, day: int) -> EventTrace:
        """The experiences before ``day``."""
        keep = self.day < day
        return EventTrace(
            self.day[keep],
            self.statistic[keep],
            self.h[keep],
            self.arl0[keep],
            self.signal[keep],
            self.p0,
            self.gamma,
        )

    def then(self, later: EventTrace) -> EventTrace:
        """This trace followed by ``later`` (a new phase: its p₀ and γ are the later ones)."""
        return EventTrace(
            np.concatenate([self.day, later.day]),
            np.concatenate([self.statistic, later.statistic]),
            np.concatenate([self.h, later.h]),
            np.concatenate([self.arl0, later.arl0]),
            np.concatenate([self.signal, later.signal]),
            later.p0,
            later.gamma,
        )


@dataclass(frozen=True)
class MonitorResult:
    """Streams with their charts, the signals, and the settings they were judged with."""

    streams: list[StreamView]
    signals: list[Signal]
    L: float
    closed_through: dt.date
    first_period: dt.date | None
    last_period: dt.date | None
    daily: StreamArrays | None = None  # the daily sums every stream was built from
    baseline: NDArray[np.bool_] | None = None  # the daily baseline mask, rows as ``daily.keys``
    complete: NDArray[np.bool_] | None = None  # which streams have a baseline (rows as ``daily.keys``)
    expected: Expected | None = None  # expected rate and mean gap per stream and day (known variation)
    weekday: Weekday | None = None  # the workspace's pooled weekly rhythm of misses (the live path reuses it)
    traces: dict[Key, EventTrace] = field(default_factory=dict)  # the per-event charts, per stream

    def signals_of(self, key: Key) -> list[Signal]:
        return [s for s in self.signals if (s.moment, s.segment, s.metric) == key]

    def worse_of(self, key: tuple[str, str, str]) -> list[Signal]:
        """The stream's signals that it got worse (the ones that alert)."""
        return [s for s in self.signals_of(key) if s.direction != "better"]

    def state(self, view: StreamView) -> tuple[str, dt.date | None]:
        """("too thin" | "in control" | "signalled", since) for one stream (worse signals only)."""
        if not view.resolution:
            return "too thin", None
        days = sorted({s.period for s in self.worse_of(view.key)})
        if not days or self.last_period is None:
            return "in control", None
        if (self.last_period - days[-1]).days > EPISODE_GAP_DAYS:
            return "in control", None
        since = days[-1]
        for d in reversed(days[:-1]):
            if (since - d).days > EPISODE_GAP_DAYS:
                break
            since = d
        return "signalled", since
