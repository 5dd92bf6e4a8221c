"""A customer's journey made readable: repeated experiences folded into runs, misses always shown.

A busy customer has hundreds of experiences (every app session is one). The page lists each
miss on its own and folds a run of consecutive experiences at the same moment and metric with
the same status (met or exceeded) into one line with its count and its time span.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from gapwatch.customers.journey import JourneyStep

__all__ = ["JourneyRun", "journey_runs"]


@dataclass(frozen=True)
class JourneyRun:
    """One step, or ``count`` consecutive alike steps starting with ``first``."""

    first: JourneyStep
    count: int
    last_at: dt.datetime
    texts: int  # steps in the run with a comment (a run with a comment is never folded)


def _alike(a: JourneyStep, b: JourneyStep) -> bool:
    return (
        a.moment == b.moment
        and a.metric == b.metric
        and a.segment == b.segment
        and a.status == b.status
        and a.status != "missed"
        and not a.text
        and not b.text
    )


def journey_runs(steps: Sequence[JourneyStep]) -> list[JourneyRun]:
    """Steps in time order, consecutive alike ones (not missed, no comment) folded together."""
    runs: list[JourneyRun] = []
    for step in steps:
        if runs and _alike(runs[-1].first, step):
            last = runs[-1]
            runs[-1] = JourneyRun(last.first, last.count + 1, step.occurred_at, last.texts)
        else:
            runs.append(JourneyRun(step, 1, step.occurred_at, int(bool(step.text))))
    return runs
