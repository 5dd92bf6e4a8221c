"""Touches: when each person meets each moment of truth (values come later, in experiences.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gapwatch.simulate.calendar import (
    Floats,
    Ints,
    keep_weekdays,
    shift_weekends,
    weekend_boost,
    with_time_of_day,
)
from gapwatch.simulate.params import MomentPlan, WorldParams
from gapwatch.simulate.spec import WorldSpec
from gapwatch.simulate.world import Journeys, People

HOURS = {"visits": (16.0, 5.0), "once": (13.0, 3.0), "recurring": (14.0, 4.5)}


@dataclass(frozen=True, slots=True)
class Touches:
    """One row per moment occurrence, sorted by time; ``signup`` is per person (NaN: stays anonymous)."""

    person: Ints
    moment: npt.NDArray[np.int16]
    t: Floats
    signup: Floats


@dataclass(frozen=True, slots=True)
class Context:
    rng: np.random.Generator
    people: People
    journeys: Journeys
    start: dt.date
    params: WorldParams


def _visits(ctx: Context, who: Ints, stage: int, plan: MomentPlan) -> tuple[Ints, Floats]:
    person = np.repeat(who, 1 + ctx.rng.poisson(plan.extra, who.size))
    t = ctx.journeys.entry[person, stage] + ctx.rng.random(person.size) * ctx.journeys.dwell[person, stage]
    return person, _shifted(ctx, person, t)


def _once(ctx: Context, who: Ints, stage: int, plan: MomentPlan) -> tuple[Ints, Floats]:
    share = np.asarray(plan.share)[ctx.people.segment[who]]
    person = who[ctx.rng.random(who.size) < share]
    t = (
        ctx.journeys.entry[person, stage]
        + 0.8 * ctx.rng.random(person.size) * ctx.journeys.dwell[person, stage]
    )
    return person, _shifted(ctx, person, t)


def _recurring(ctx: Context, who: Ints, stage: int, plan: MomentPlan) -> tuple[Ints, Floats]:
    begin = ctx.journeys.entry[who, stage]
    span = np.maximum(ctx.journeys.exit[who] - begin, 0.0)
    keep = np.asarray(ctx.params.weekend_keep)[ctx.people.segment[who]]
    rate = np.asarray(plan.rate)[ctx.people.segment[who]] / 7.0 * weekend_boost(keep)
    person = np.repeat(who, ctx.rng.poisson(rate * span))
    t = ctx.journeys.entry[person, stage] + ctx.rng.random(person.size) * span[np.searchsorted(who, person)]
    kept = keep_weekdays(
        ctx.rng, t, ctx.start, np.asarray(ctx.params.weekend_keep)[ctx.people.segment[person]]
    )
    person, t = person[kept], t[kept]
    if plan.first:
        person = np.concatenate([who, person])
        t = np.concatenate([_shifted(ctx, who, begin), t])
    return person, t


def _shifted(ctx: Context, person: Ints, t: Floats) -> Floats:
    prob = np.asarray(ctx.params.weekend_shift)[ctx.people.segment[person]]
    return shift_weekends(ctx.rng, t, ctx.start, prob)


GENERATORS = {"visits": _visits, "once": _once, "recurring": _recurring}


def make_touches(ctx: Context, spec: WorldSpec, days: int) -> Touches:
    """All touches lived before the window ends, plus the sign-up page hit that links a visitor."""
    persons: list[Ints] = []
    moments: list[npt.NDArray[np.int16]] = []
    times: list[Floats] = []
    for index, moment in enumerate(spec.moments):
        if moment.source is None:
            continue  # no source could ever show it: nothing to simulate
        plan = ctx.params.plans.get(moment.key, ctx.params.default_plan)
        who = np.flatnonzero(~np.isnan(ctx.journeys.entry[:, moment.stage]))
        person, t = GENERATORS[plan.pattern](ctx, who, moment.stage, plan)
        t = with_time_of_day(ctx.rng, t, *HOURS[plan.pattern])
        persons.append(person)
        times.append(t)
        moments.append(np.full(person.size, index, dtype=np.int16))
    person, moment_idx, t = np.concatenate(persons), np.concatenate(moments), np.concatenate(times)
    signup = _signup(ctx, spec, person, moment_idx, t)
    person, moment_idx, t = _add_signup_hits(ctx, spec, signup, person, moment_idx, t)
    keep = t < days
    order = np.argsort(t[keep], kind="stable")
    return Touches(person[keep][order], moment_idx[keep][order], t[keep][order], signup)


def _signup(ctx: Context, spec: WorldSpec, person: Ints, moment: npt.NDArray[np.int16], t: Floats) -> Floats:
    """Sign-up: the first event on a source that knows only customer ids, or entering the sales stages."""
    sources = spec.experience_sources()
    identified = np.array(
        [m.source is not None and sources[m.source].anonymous_id is None for m in spec.moments]
    )
    first = np.full(ctx.people.segment.size, np.inf)
    mask = identified[moment]
    np.minimum.at(first, person[mask], t[mask])
    marketing = spec.config.lifecycle[0].silo
    later = [i for i, s in enumerate(spec.config.lifecycle) if s.silo != marketing]
    if later:
        first = np.fmin(first, ctx.journeys.entry[:, later[0]])
    return np.where(np.isfinite(first), first, np.nan)


def _add_signup_hits(
    ctx: Context, spec: WorldSpec, signup: Floats, person: Ints, moment: npt.NDArray[np.int16], t: Floats
) -> tuple[Ints, npt.NDArray[np.int16], Floats]:
    keys = [m.key for m in spec.moments]
    if ctx.params.signup_moment not in keys:
        return person, moment, t
    who = np.flatnonzero(~np.isnan(signup))
    index = keys.index(ctx.params.signup_moment)
    return (
        np.concatenate([person, who]),
        np.concatenate([moment, np.full(who.size, index, dtype=np.int16)]),
        np.concatenate([t, signup[who]]),
    )
