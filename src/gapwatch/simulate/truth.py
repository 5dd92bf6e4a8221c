"""The ground truth no file shows: incidents, in-control miss rates and each customer's lived journey."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from gapwatch.domain.gap import Status
from gapwatch.simulate.calendar import Floats
from gapwatch.simulate.generate import World

STATUS = {int(s): s.label for s in Status}


def truth(world: World, visitor_ids: list[str]) -> dict[str, Any]:
    """A JSON-ready description of what really happened (dates are ISO, ``end`` is inclusive)."""
    return {
        "generator": "gapwatch simulate",
        "seed": world.seed,
        "start": world.start.isoformat(),
        "days": world.days,
        "end": _date(world, world.days - 1),
        "timezone": "UTC",
        "baseline_days": world.spec.config.detection.baseline_days,
        "incidents": incidents(world),
        "streams": streams(world),
        "survey": {
            "respondents": int(world.survey.person.size),
            "journeys_ended": int(np.count_nonzero(~np.isnan(world.ended))),
        },
        "customers": customers(world, visitor_ids),
    }


def incidents(world: World) -> list[dict[str, Any]]:
    out = []
    rows, status = world.rows, world.values.status
    for inc in world.incidents:
        stream = rows.streams.index((inc.moment, inc.segment, inc.metric))
        hit = (rows.stream == stream) & (rows.day >= inc.start_day) & (rows.day <= inc.end_day)
        p0 = float(world.values.p0[rows.stream == stream][0])
        out.append(
            {
                "id": inc.id,
                "moment": inc.moment,
                "segment": inc.segment,
                "metric": inc.metric,
                "silo": inc.silo,
                "source": inc.source,
                "start": _date(world, inc.start_day),
                "end": _date(world, inc.end_day),
                "days": inc.end_day - inc.start_day + 1,
                "size": inc.size,
                "volume": inc.volume,
                "baseline_miss_rate": round(p0, 4),
                "incident_miss_rate": round(min(p0 * inc.size, 0.95), 4),
                "events": int(hit.sum()),
                "missed": int((status[hit] == Status.MISSED).sum()),
            }
        )
    return out


def streams(world: World) -> list[dict[str, Any]]:
    rows, status = world.rows, world.values.status
    seen = rows.day >= 0
    n = np.bincount(rows.stream[seen], minlength=len(rows.streams))
    missed = np.bincount(rows.stream[seen & (status == Status.MISSED)], minlength=len(rows.streams))
    p0 = np.zeros(len(rows.streams))
    p0[rows.stream] = world.values.p0
    hit = {(i.moment, i.segment, i.metric) for i in world.incidents}
    return [
        {
            "moment": m,
            "segment": s,
            "metric": k,
            "miss_rate": round(float(p0[i]), 4),
            "events": int(n[i]),
            "missed": int(missed[i]),
            "incident": (m, s, k) in hit,
        }
        for i, (m, s, k) in enumerate(rows.streams)
    ]


def customers(world: World, visitor_ids: list[str]) -> list[dict[str, Any]]:
    """Per person, over every experience lived up to the window's end (the warm-up included)."""
    n = world.people.segment.size
    person_of_row = world.touches.person[world.rows.touch]
    count = np.bincount(person_of_row, minlength=n)
    misses = np.bincount(person_of_row[world.values.status == Status.MISSED], minlength=n)
    worst = np.full(n, np.inf)
    np.minimum.at(worst, person_of_row, world.values.normalised)
    last = world.memory.last_row
    stage = world.journeys.last_stage
    reached = np.sum(world.journeys.entry < world.days, axis=1)
    nps = np.full(n, -1)
    nps[world.survey.person] = world.survey.score
    answered = np.full(n, np.nan)
    answered[world.survey.person] = world.survey.answered_at
    return [
        {
            "customer_id": f"C{i + 1:07d}" if not np.isnan(world.touches.signup[i]) else None,
            "visitor_id": visitor_ids[i],
            "segment": world.spec.segments[world.people.segment[i]],
            "signed_up": _day(world, world.touches.signup[i]),
            "stage": world.spec.stages[min(int(stage[i]), int(reached[i]) - 1)] if reached[i] else None,
            "stages_reached": int(reached[i]),
            "experiences": int(count[i]),
            "misses": int(misses[i]),
            "worst_gap": round(float(worst[i]), 3) if np.isfinite(worst[i]) else None,
            "last_moment": _last_moment(world, int(last[i])),
            "last_status": STATUS[int(world.values.status[last[i]])] if last[i] >= 0 else None,
            "journey_ended": _day(world, world.ended[i]),
            "nps": int(nps[i]) if nps[i] >= 0 else None,
            "nps_answered": _day(world, answered[i]),
        }
        for i in range(n)
    ]


def _last_moment(world: World, row: int) -> str | None:
    if row < 0:
        return None
    return world.spec.moments[int(world.touches.moment[world.rows.touch[row]])].key


def _date(world: World, day: int) -> str:
    return (world.start + dt.timedelta(days=int(day))).isoformat()


def _day(world: World, t: float | Floats) -> str | None:
    value = float(t)
    return None if np.isnan(value) else _date(world, int(np.floor(value)))
