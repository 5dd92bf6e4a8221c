"""The monitor's results read through the lifecycle: stages in order, owning silo, stream states.

What ``gapwatch detect``, the demo's terminal summary and the HTML report all show.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from gapwatch.domain.lifecycle import Lifecycle
from gapwatch.monitor.arrays import ALL_SEGMENTS
from gapwatch.monitor.charts import StreamView
from gapwatch.monitor.result import MonitorResult

__all__ = ["StreamState", "stream_label", "stream_states"]


@dataclass(frozen=True)
class StreamState:
    """One stream's place in the lifecycle and its state after detection."""

    stage: str
    silo: str
    moment: str
    segment: str
    metric: str
    level: str
    method: str
    state: str  # "in control", "signalled" or "too thin"
    since: dt.date | None
    signals: int
    events: int

    @property
    def label(self) -> str:
        return stream_label((self.moment, self.segment, self.metric))

    def describe(self) -> str:
        """e.g. "signalled since 2025-03-02" or "in control"."""
        if self.state == "signalled" and self.since is not None:
            return f"signalled since {self.since.isoformat()}"
        return self.state

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "silo": self.silo,
            "moment": self.moment,
            "segment": self.segment,
            "metric": self.metric,
            "level": self.level,
            "method": self.method,
            "state": self.state,
            "since": self.since.isoformat() if self.since else None,
            "signals": self.signals,
            "events": self.events,
        }


def stream_label(key: tuple[str, str, str]) -> str:
    """moment/segment/metric, with "all segments" for a moment's parent stream."""
    moment, segment, metric = key
    return f"{moment}/{'(all segments)' if segment == ALL_SEGMENTS else segment}/{metric}"


def _state(result: MonitorResult, view: StreamView, lifecycle: Lifecycle) -> StreamState:
    moment = view.key[0]
    known = moment in lifecycle.moments
    state, since = result.state(view)
    total = view.sums["n"]
    return StreamState(
        stage=lifecycle.stage_of(moment) if known else "?",
        silo=lifecycle.silo_of(moment) if known else "?",
        moment=moment,
        segment=view.key[1],
        metric=view.key[2],
        level=view.level,
        method=view.method,
        state=state,
        since=since,
        signals=len(result.signals_of(view.key)),
        events=int(sum(x for x in total if x == x)),
    )


def stream_states(result: MonitorResult, lifecycle: Lifecycle) -> list[StreamState]:
    """Every stream, ordered by stage, moment, metric, then the moment's parent before its segments."""
    order = {s: i for i, s in enumerate(lifecycle.stages)}
    moments = list(lifecycle.moments)
    states = [_state(result, v, lifecycle) for v in result.streams]

    def key(s: StreamState) -> tuple[Any, ...]:
        m = moments.index(s.moment) if s.moment in moments else len(moments)
        return (order.get(s.stage, len(order)), m, s.metric, s.level != "moment", s.segment)

    return sorted(states, key=key)
