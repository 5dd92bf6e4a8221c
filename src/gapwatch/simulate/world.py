"""Customers and their journeys: segments, arrivals and the time each lifecycle stage is entered."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gapwatch.simulate.calendar import Floats, gamma_days, shift_weekends
from gapwatch.simulate.params import WorldParams


@dataclass(frozen=True, slots=True)
class People:
    """Everyone who ever lands on the site; most never become customers."""

    segment: npt.NDArray[np.int8]  # index into params' SEGMENTS
    arrival: Floats  # days since the window start; negative = arrived during the warm-up


@dataclass(frozen=True, slots=True)
class Journeys:
    """Stage entry times per person (NaN where the stage is never reached) and the journey's end."""

    entry: npt.NDArray[np.float64]  # shape (people, stages)
    dwell: npt.NDArray[np.float64]  # days spent in each stage
    exit: Floats  # when the journey ends: finished the last stage or dropped out

    @property
    def last_stage(self) -> npt.NDArray[np.int64]:
        reached = ~np.isnan(self.entry)
        return np.asarray(reached.sum(axis=1) - 1, dtype=np.int64)


def make_people(rng: np.random.Generator, n: int, days: int, start: dt.date, params: WorldParams) -> People:
    """Draw segments and arrival times (fewer arrivals at weekends)."""
    segment = rng.choice(len(params.segment_mix), size=n, p=np.asarray(params.segment_mix)).astype(np.int8)
    arrival = rng.uniform(-params.warmup_days, days, n)
    prob = np.asarray(params.weekend_shift)[segment]
    arrival = shift_weekends(rng, arrival, start, prob)
    return People(segment, arrival)


def per_segment(
    values: dict[str, tuple[float, float, float]],
    default: tuple[float, float, float],
    stages: tuple[str, ...],
) -> npt.NDArray[np.float64]:
    """(stages, segments) table from a per-stage dict, with a default for unknown stages."""
    return np.array([values.get(s, default) for s in stages], dtype=float)


def make_journeys(
    rng: np.random.Generator, people: People, stages: tuple[str, ...], params: WorldParams
) -> Journeys:
    """Walk everyone down the funnel: each stage is reached with a conversion probability."""
    n, k = people.segment.size, len(stages)
    conversion = per_segment(params.conversion, params.default_conversion, stages)[:, people.segment].T
    mean_dwell = per_segment(params.dwell, params.default_dwell, stages)[:, people.segment].T
    reached = np.cumprod(rng.random((n, k)) < conversion, axis=1).astype(bool)
    reached[:, 0] = True
    dwell = gamma_days(rng, mean_dwell.ravel()).reshape(n, k)
    entry = people.arrival[:, None] + np.concatenate(
        [np.zeros((n, 1)), np.cumsum(dwell[:, :-1], axis=1)], axis=1
    )
    entry = np.where(reached, entry, np.nan)
    last = reached.sum(axis=1) - 1
    exit_ = entry[np.arange(n), last] + dwell[np.arange(n), last]
    return Journeys(entry, dwell, exit_)
