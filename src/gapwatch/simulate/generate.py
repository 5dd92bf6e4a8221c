"""Build a whole simulated world in memory: no files, no clock; the seed decides everything."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from gapwatch.config import WorkspaceConfig, default_config
from gapwatch.simulate import incidents as incident_model
from gapwatch.simulate.calendar import Floats
from gapwatch.simulate.experiences import Rows, Values, expand
from gapwatch.simulate.incidents import Incident
from gapwatch.simulate.params import SEGMENTS, WorldParams
from gapwatch.simulate.seasons import Drift, drift_streams, miss_factor
from gapwatch.simulate.spec import WorldSpec
from gapwatch.simulate.survey import Memory, Survey, answer, remember
from gapwatch.simulate.touches import Context, Touches, make_touches
from gapwatch.simulate.values import draw
from gapwatch.simulate.world import (
    Journeys,
    People,
    burn_in_days,
    make_journeys,
    make_people,
    still_visible,
)

Progress = Callable[[str], None]
STEPS = ("people", "journeys", "touches", "incidents", "values", "survey", "seasons")


@dataclass(frozen=True, slots=True)
class World:
    """Everything that happened, including what no file shows (the truth)."""

    spec: WorldSpec
    params: WorldParams
    seed: int
    start: dt.date
    days: int
    people: People
    journeys: Journeys
    touches: Touches
    rows: Rows
    values: Values
    incidents: list[Incident]
    memory: Memory
    ended: Floats  # journey end for signed-up people whose journey ended in the window, else NaN
    survey: Survey
    drifts: list[Drift] = field(default_factory=list)  # streams slowly getting worse (not incidents)


def simulate(
    customers: int,
    days: int,
    seed: int,
    start: dt.date = dt.date(2025, 1, 6),
    incidents: int = 5,
    config: WorkspaceConfig | None = None,
    params: WorldParams | None = None,
    progress: Progress | None = None,
) -> World:
    """Simulate ``customers`` arrivals in ``days`` days from ``start``, plus a burn-in (seeded).

    Examples
    --------
    >>> world = simulate(customers=300, days=60, seed=1, incidents=1)
    >>> len(world.incidents), world.incidents[0].start_day >= 42
    (1, True)
    """
    if customers < 1 or days < 1:
        raise ValueError("customers and days must be positive")
    params = params or WorldParams()
    config = config or default_config()
    spec = WorldSpec.from_config(config, SEGMENTS)
    rng = dict(
        zip(
            STEPS,
            (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(len(STEPS))),
            strict=True,
        )
    )
    step = progress or (lambda _: None)
    step("people")
    people = make_people(rng["people"], customers, days, start, params, burn_in_days(spec.stages, params))
    step("journeys")
    journeys = make_journeys(rng["journeys"], people, spec.stages, params)
    visible = still_visible(journeys)  # the burn-in's journeys long over leave no trace: drop them
    people, journeys = people.take(visible), journeys.take(visible)
    step("touches")
    touches = make_touches(Context(rng["touches"], people, journeys, start, params), spec, days)
    rows = expand(rng["touches"], spec, touches.moment, people.segment[touches.person], touches.t, params)
    step("incidents")
    placed = incident_model.place(rng["incidents"], rows, spec, days, config.detection, incidents, params)
    taken = {(i.moment, i.metric) for i in placed}
    first = config.detection.baseline_days + incident_model.MARGIN
    drifts = drift_streams(rng["seasons"], rows, spec, days, first, taken, params)
    step("values")
    size = incident_model.multiplier(rows, placed) * miss_factor(rows, start, days, params, drifts)
    values = draw(rng["values"], spec, rows, people.segment[touches.person], size, params, start)
    step("survey")
    person_of_row = touches.person[rows.touch]
    memory = remember(person_of_row, values, people.segment.size, params.nps)
    ended = _ended(journeys, touches, days)
    survey = answer(rng["survey"], memory, values, people.segment, ended, days, params.nps)
    return World(
        spec,
        params,
        seed,
        start,
        days,
        people,
        journeys,
        touches,
        rows,
        values,
        placed,
        memory,
        ended,
        survey,
        drifts,
    )


def _ended(journeys: Journeys, touches: Touches, days: int) -> Floats:
    """When each signed-up person's journey ended (after its last touch), NaN if it goes on."""
    last = np.full(journeys.exit.size, -np.inf)
    np.maximum.at(last, touches.person, touches.t)
    end = np.fmax(journeys.exit, last)
    done = (end < days) & ~np.isnan(touches.signup)
    result: Floats = np.where(done, end, np.nan)
    return result
