"""Customers and their journeys: segments, arrivals and the time each lifecycle stage is entered.

``customers`` people land on the site during the window. A burn-in adds the people who landed
before it at the same daily rate, for long enough that even the slowest full journey that touches
the window began before day 0: without it, the first weeks' survey answers would come only from
short journeys (drop-outs, fast segments) with few moments, whose worst moment is milder, and the
NPS would drift down for months as longer journeys start to finish. People whose journey (and any
survey answer) is over before the window opens leave no trace in it and are not kept.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gapwatch.simulate.calendar import Floats, Ints, gamma_days, shift_weekends
from gapwatch.simulate.params import WorldParams


@dataclass(frozen=True, slots=True)
class People:
    """Everyone who ever lands on the site; most never become customers."""

    segment: npt.NDArray[np.int8]  # index into params' SEGMENTS
    arrival: Floats  # days since the window start; negative = arrived during the burn-in

    def take(self, index: Ints) -> People:
        return People(self.segment[index], self.arrival[index])


@dataclass(frozen=True, slots=True)
class Journeys:
    """Stage entry times per person (NaN where the stage is never reached) and the journey's end."""

    entry: npt.NDArray[np.float64]  # shape (people, stages)
    dwell: npt.NDArray[np.float64]  # days spent in each stage
    exit: Floats  # when the journey ends: finished the last stage or dropped out

    def take(self, index: Ints) -> Journeys:
        return Journeys(self.entry[index], self.dwell[index], self.exit[index])

    @property
    def last_stage(self) -> npt.NDArray[np.int64]:
        reached = ~np.isnan(self.entry)
        return np.asarray(reached.sum(axis=1) - 1, dtype=np.int64)


ECHO_DAYS = 60  # a journey over this long before the window can no longer show in it (survey delay)
SPREAD_SD = 6.0  # burn-in = slowest mean full journey + this many standard deviations


def burn_in_days(stages: tuple[str, ...], params: WorldParams) -> int:
    """Days of arrivals to simulate before the window: ``params.warmup_days``, or enough for the
    slowest segment's full journey (mean + 6 SD of the sum of gamma(2) stage dwells).

    Examples
    --------
    >>> from gapwatch.simulate.params import WorldParams
    >>> stages = ("awareness", "interest", "consideration", "evaluation", "commitment", "onboarding",
    ...           "fulfilment", "usage", "support", "renewal", "advocacy")
    >>> burn_in_days(stages, WorldParams())
    332
    >>> burn_in_days(stages, WorldParams(warmup_days=0))
    0
    """
    if params.warmup_days is not None:
        return params.warmup_days
    mean = per_segment(params.dwell, params.default_dwell, stages)  # (stages, segments)
    total = mean.sum(axis=0) + SPREAD_SD * np.sqrt((mean**2).sum(axis=0) / 2.0)  # gamma shape 2
    return int(np.ceil(total.max()))


def make_people(
    rng: np.random.Generator, n: int, days: int, start: dt.date, params: WorldParams, burn_in: int = 0
) -> People:
    """``n`` arrivals in the window plus the burn-in's at the same rate (fewer arrivals at weekends),
    more in holiday peaks, with a segment mix that may move over the window (``seasons.py``)."""
    from gapwatch.simulate.seasons import arrival_boost, segment_mix_at

    extra = round(n * burn_in / days)
    mix = np.asarray(params.segment_mix)
    if params.segment_mix_end is None and not params.peaks:  # the classic world, drawn as it always was
        segment = rng.choice(len(mix), size=n + extra, p=mix).astype(np.int8)
        arrival = np.concatenate([rng.uniform(0, days, n), rng.uniform(-burn_in, 0, extra)])
    else:
        arrival = np.concatenate(
            [
                rng.uniform(0, days, n),
                rng.uniform(-burn_in, 0, extra),
                arrival_boost(rng, n, days, start, params),
            ]
        )
        cdf = np.cumsum(segment_mix_at(arrival, days, params), axis=1)
        segment = (rng.random(arrival.size)[:, None] > cdf[:, :-1]).sum(axis=1).astype(np.int8)
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


def still_visible(journeys: Journeys) -> Ints:
    """People whose journey can still show in the window: it ends at most ``ECHO_DAYS`` before it."""
    return np.flatnonzero(journeys.exit >= -ECHO_DAYS).astype(np.int64)
