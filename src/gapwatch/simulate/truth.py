"""The ground truth no file shows: incidents, in-control miss rates and each customer's lived journey."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from gapwatch.domain.gap import Status
from gapwatch.simulate import tables
from gapwatch.simulate.calendar import Floats
from gapwatch.simulate.generate import World
from gapwatch.simulate.incidents import rows_hit, streams_hit
from gapwatch.simulate.seasons import describe

STATUS = {int(s): s.label for s in Status}


def truth(world: World, visitor_ids: pa.Array) -> dict[str, Any]:
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
        "seasonality": describe(world.start, world.days, world.params, world.drifts),
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
    person = world.touches.person[rows.touch]
    answered = np.zeros(world.people.segment.size, dtype=bool)
    answered[world.survey.person] = True
    for inc in world.incidents:
        hit = rows_hit(rows, inc)
        # a systemic incident spans segments with different in-control rates: weight them by events
        p0_rows = (
            world.values.p0[hit]
            if hit.any()
            else world.values.p0[np.isin(rows.stream, streams_hit(rows, inc))]
        )
        p0 = float(p0_rows.mean()) if p0_rows.size else 0.0
        incident_rate = float(np.minimum(p0_rows * inc.size, 0.95).mean()) if p0_rows.size else 0.0
        exposed = np.unique(person[hit])
        let_down = np.unique(person[hit & (status == Status.MISSED)])
        out.append(
            {
                "id": inc.id,
                "moment": inc.moment,
                "segment": inc.segment,
                "metric": inc.metric,
                "silo": inc.silo,
                "stage": world.spec.stages[world.spec.moments[world.spec.moment_index(inc.moment)].stage],
                "source": inc.source,
                "start": _date(world, inc.start_day),
                "end": _date(world, inc.end_day),
                "days": inc.end_day - inc.start_day + 1,
                "size": inc.size,
                "volume": inc.volume,
                "systemic": inc.systemic,
                "baseline_miss_rate": round(p0, 4),
                "incident_miss_rate": round(incident_rate, 4),
                "events": int(hit.sum()),
                "missed": int((status[hit] == Status.MISSED).sum()),
                "excess_missed": round(
                    float((status[hit] == Status.MISSED).sum() - world.values.p0[hit].sum()), 1
                ),
                "customers": int(exposed.size),
                "customers_missed": int(let_down.size),
                "customers_missed_answered": int(answered[let_down].sum()),
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
    hit = {key for key in rows.streams if any(i.covers(key) for i in world.incidents)}
    drifting = {(d.moment, d.segment, d.metric) for d in world.drifts}
    return [
        {
            "moment": m,
            "segment": s,
            "metric": k,
            "miss_rate": round(float(p0[i]), 4),
            "events": int(n[i]),
            "missed": int(missed[i]),
            "incident": (m, s, k) in hit,
            "drift": (m, s, k) in drifting,
        }
        for i, (m, s, k) in enumerate(rows.streams)
    ]


def customers(world: World, visitor_ids: pa.Array) -> list[dict[str, Any]]:
    """Per person, over every experience lived up to the window's end (the warm-up included)."""
    n = world.people.segment.size
    person_of_row = world.touches.person[world.rows.touch]
    missed = world.values.status == Status.MISSED
    worst = np.full(n, np.inf)
    np.minimum.at(worst, person_of_row, world.values.normalised)
    last = world.memory.last_row
    reached = np.sum(world.journeys.entry < world.days, axis=1)
    stage = np.minimum(world.journeys.last_stage, reached - 1)
    nps, answered = np.full(n, np.nan), np.full(n, np.nan)
    nps[world.survey.person] = world.survey.score
    answered[world.survey.person] = world.survey.answered_at
    signed = ~np.isnan(world.touches.signup)
    moment_of_last = world.touches.moment[world.rows.touch[np.maximum(last, 0)]]
    columns = {
        "customer_id": _masked(tables.ids("C", np.arange(1, n + 1)), ~signed),
        "visitor_id": visitor_ids,
        "segment": _names(world.spec.segments, world.people.segment),
        "signed_up": _dates(world, world.touches.signup),
        "stage": _masked(_names(world.spec.stages, np.maximum(stage, 0)), reached == 0),
        "stages_reached": pa.array(reached.astype(np.int64)),
        "experiences": pa.array(np.bincount(person_of_row, minlength=n)),
        "misses": pa.array(np.bincount(person_of_row[missed], minlength=n)),
        "worst_gap": pa.array(np.round(worst, 3), mask=~np.isfinite(worst)),
        "last_moment": _masked(_names([m.key for m in world.spec.moments], moment_of_last), last < 0),
        "last_status": _masked(
            _names([STATUS[k] for k in (-1, 0, 1)], world.values.status[np.maximum(last, 0)] + 1), last < 0
        ),
        "journey_ended": _dates(world, world.ended),
        "nps": pa.array(np.nan_to_num(nps).astype(np.int64), mask=np.isnan(nps)),
        "nps_answered": _dates(world, answered),
    }
    rows: list[dict[str, Any]] = pa.table(columns).to_pylist()
    return rows


def _names(names: Sequence[str], codes: npt.NDArray[Any]) -> pa.Array:
    return pa.array(list(names), type=pa.string()).take(pa.array(codes.astype(np.int64)))


def _masked(array: pa.Array, hide: npt.NDArray[np.bool_]) -> pa.Array:
    return pc.if_else(pa.array(hide), pa.nulls(len(array), array.type), array)


def _dates(world: World, t: Floats) -> pa.Array:
    """ISO dates for times in days (null where NaN)."""
    known = ~np.isnan(t)
    days = np.datetime64(world.start, "D") + np.floor(np.nan_to_num(t)).astype(np.int64)
    return pa.array(days.astype(str), mask=~known)


def _date(world: World, day: int) -> str:
    return (world.start + dt.timedelta(days=int(day))).isoformat()
