"""Draw every experience value, stream by stream, and score it against the expectation in force."""

from __future__ import annotations

import datetime as dt

import numpy as np
import numpy.typing as npt

from gapwatch.config.schema import ExperienceSpec
from gapwatch.domain.gap import score_arrays
from gapwatch.simulate.calendar import Floats
from gapwatch.simulate.experiences import Rows, Values, baseline_miss, goodness_quantile, measure, rating
from gapwatch.simulate.params import WorldParams
from gapwatch.simulate.spec import WorldSpec


def draw(
    rng: np.random.Generator,
    spec: WorldSpec,
    rows: Rows,
    segment: npt.NDArray[np.int8],
    size: Floats,
    params: WorldParams,
    start: dt.date,
) -> Values:
    """Values for all rows; ``segment`` is each row's person segment, ``size`` the incident multiplier."""
    n = rows.touch.size
    p0_stream = baseline_miss(spec, rows.streams, params)
    p0 = p0_stream[rows.stream]
    q = goodness_quantile(rng.random(n), np.minimum(p0 * size, 0.95), p0)
    value, expected = np.empty(n), np.full(n, np.nan)
    adequate, desired, sign = np.empty(n), np.empty(n), np.empty(n)
    kano = np.empty(n, dtype=np.int8)
    order = np.argsort(rows.stream, kind="stable")
    bounds = np.searchsorted(rows.stream[order], np.arange(len(rows.streams) + 1))
    for sid, (moment, seg, metric) in enumerate(rows.streams):
        idx = order[bounds[sid] : bounds[sid + 1]]
        adequate[idx], desired[idx], kano[idx] = spec.zones(moment, metric, seg, rows.day[idx], start)
        sign[idx] = spec.direction(metric)
        entry = spec.experience_entry(moment, metric)
        if entry is not None and entry.expected is not None:
            expected[idx] = _promised(rng, segment[rows.touch[idx]], params)
        used = np.where(np.isnan(expected[idx]), adequate[idx], expected[idx])
        value[idx] = _value(spec, metric, q[idx], used, desired[idx], float(p0_stream[sid]), params, entry)
    signed, normalised, status, _ = score_arrays(value, adequate, desired, sign, expected)
    return Values(value, expected, desired, kano, signed, normalised, status, p0)


def _value(
    spec: WorldSpec,
    metric: str,
    q: Floats,
    adequate: Floats,
    desired: Floats,
    p0: float,
    params: WorldParams,
    entry: ExperienceSpec | None,
) -> Floats:
    info = spec.config.metrics[metric]
    sign = spec.direction(metric)
    if info.kind == "rating":
        return rating(q, float(adequate[0]), sign, info.scale or (1.0, 5.0), p0)
    raw = measure(q, adequate, desired, sign, np.full(q.size, p0), params.exceed)
    step = entry.value.scale if entry is not None and entry.value.scale else 0.01
    rounded: Floats = np.round(np.round(raw / step) * step, 6)  # what the exported file can carry
    return rounded


def _promised(rng: np.random.Generator, segment: npt.NDArray[np.int8], params: WorldParams) -> Floats:
    """A stated expectation per event: the promised days the customer was given at the order."""
    out = np.empty(segment.size)
    for code, choices in enumerate(params.promised_days):
        rows = segment == code
        out[rows] = rng.choice(np.asarray(choices, dtype=float), size=int(rows.sum()))
    return out
