"""End-of-journey NPS: a share of those whose journey ended answer; the score follows peak and end.

Peak-end (Kahneman): remembered experience is driven by its worst moment and its last one, not by
the average. The pain of a miss grows with how far it fell short (normalised gap) and with its
Kano class (a must-be miss hurts most). Calibrated on olist: a late delivery costs ~1.7 review points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gapwatch.domain.gap import Status
from gapwatch.simulate.calendar import Floats, Ints, with_time_of_day
from gapwatch.simulate.experiences import Values
from gapwatch.simulate.params import NpsModel
from gapwatch.simulate.spec import KANO_CODES


@dataclass(frozen=True, slots=True)
class Memory:
    """What each person remembers of their journey so far."""

    peak: Floats  # worst pain (0: never let down)
    end: Floats  # pain of the last experience
    last_row: Ints  # index of the last experience row (-1: none)


@dataclass(frozen=True, slots=True)
class Survey:
    person: Ints
    answered_at: Floats
    score: npt.NDArray[np.int8]


def pain(values: Values, model: NpsModel) -> Floats:
    """How much each experience hurts: 0 unless missed."""
    weights = dict(model.kano)
    kano_weight = np.array([weights.get(k, 0.5) for k in KANO_CODES])[values.kano]
    depth = np.minimum(np.nan_to_num(-values.normalised, nan=0.0), model.cap)
    hurt = kano_weight * (model.jump + model.slope * np.maximum(depth, 0.0))
    result: Floats = np.where(values.status == Status.MISSED, hurt, 0.0)
    return result


def remember(person_of_row: Ints, values: Values, n_people: int, model: NpsModel) -> Memory:
    """Peak and end pain per person (rows are in time order)."""
    hurt = pain(values, model)
    peak = np.zeros(n_people)
    np.maximum.at(peak, person_of_row, hurt)
    last = np.full(n_people, -1, dtype=np.int64)
    np.maximum.at(last, person_of_row, np.arange(person_of_row.size))
    end = np.where(last >= 0, hurt[np.maximum(last, 0)], 0.0)
    return Memory(peak, end, last)


def answer(
    rng: np.random.Generator,
    memory: Memory,
    values: Values,
    segment: npt.NDArray[np.int8],
    ended: Floats,
    days: int,
    model: NpsModel,
) -> Survey:
    """Who answers (among those whose journey ended, with a customer id) and what they score."""
    eligible = ~np.isnan(ended)
    responds = eligible & (rng.random(segment.size) < np.asarray(model.response)[segment])
    delay = rng.gamma(2.0, model.delay_days / 2.0, segment.size)
    answered = with_time_of_day(rng, np.nan_to_num(ended, nan=-1e9) + delay, 19.0, 3.0)
    latent = _latent(rng, memory, values, segment, model)
    who = np.flatnonzero(responds & (answered >= 0) & (answered < days))
    score = np.clip(np.round(latent[who]), 0, 10).astype(np.int8)
    order = np.argsort(answered[who], kind="stable")
    return Survey(who[order], answered[who][order], score[order])


def _latent(
    rng: np.random.Generator, memory: Memory, values: Values, segment: npt.NDArray[np.int8], model: NpsModel
) -> Floats:
    exceeded_last = (memory.last_row >= 0) & (
        values.status[np.maximum(memory.last_row, 0)] == Status.EXCEEDED
    )
    base = np.asarray(model.base)[segment]
    noise = rng.normal(0.0, model.noise, segment.size)
    latent: Floats = (
        base
        - model.peak * memory.peak
        - model.end * memory.end
        + model.exceeded_bonus * exceeded_last
        + noise
    )
    return latent
