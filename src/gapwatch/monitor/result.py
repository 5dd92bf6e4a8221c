"""What one monitor run found: the streams with their charts, the signals, the settings.

A plain value shared by the batch monitor, the per-event charts, the store writer and the
live service, so none of them imports another to name it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from gapwatch.monitor.arrays import StreamArrays
from gapwatch.monitor.charts import Signal, StreamView

EPISODE_GAP_DAYS = 14  # signals closer than this belong to one episode


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

    def signals_of(self, key: tuple[str, str, str]) -> list[Signal]:
        return [s for s in self.signals if (s.moment, s.segment, s.metric) == key]

    def state(self, view: StreamView) -> tuple[str, dt.date | None]:
        """("too thin" | "in control" | "signalled", since) for one stream."""
        if not view.resolution:
            return "too thin", None
        days = sorted({s.period for s in self.signals_of(view.key)})
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
