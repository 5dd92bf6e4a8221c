"""The harder world: what a real business looks like between incidents.

Incidents are not the only reason a miss rate moves. Real streams have

* a **weekly rhythm**: Mondays clear the weekend's backlog (more misses), weekends are calm
  (``WorldParams.weekday_miss``, a factor per weekday on every stream's miss probability);
* **holiday peaks**: a sale or Christmas brings more customers in (``Peak.volume`` on the
  arrivals of its days) and strains capacity (``Peak.miss`` on every miss probability);
* **slow drifts**: a few streams get slowly worse over months (``WorldParams.drifts`` streams,
  their miss probability ramping linearly to ``1 + drift_size`` from the end of the clean margin
  to the window's end), which is real change, but not an incident;
* **segment-mix shifts**: the share of each segment among new arrivals moves linearly from
  ``segment_mix`` to ``segment_mix_end`` over the window, so a moment watched as a whole sees
  its miss rate move although no segment changed.

All of it is in ``truth.json`` (``seasonality``), so a score can tell incidents, drifts and known
variation apart. ``WorldParams.plain()`` turns it all off (the classic world).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from gapwatch.simulate.calendar import Floats, Ints, weekday
from gapwatch.simulate.experiences import Rows
from gapwatch.simulate.params import Peak, WorldParams
from gapwatch.simulate.spec import WorldSpec

__all__ = [
    "Drift",
    "arrival_boost",
    "calendar_effects",
    "drift_streams",
    "miss_factor",
    "peak_windows",
    "segment_mix_at",
]


@dataclass(frozen=True, slots=True)
class Drift:
    """A stream slowly getting worse: miss probability × (1 + size · ramp) from ``start_day`` on."""

    moment: str
    segment: str
    metric: str
    start_day: int
    size: float

    def factor(self, day: Ints, days: int) -> Floats:
        ramp = np.clip((day - self.start_day) / max(days - 1 - self.start_day, 1), 0.0, 1.0)
        out: Floats = 1.0 + self.size * ramp
        return out


def peak_windows(start: dt.date, days: int, peaks: tuple[Peak, ...]) -> list[tuple[Peak, int, int]]:
    """Each peak's occurrences in the window as (peak, first day, last day), day offsets inclusive."""
    out = []
    end = start + dt.timedelta(days=days - 1)
    for peak in peaks:
        for year in range(start.year, end.year + 1):
            first = dt.date(year, peak.month, peak.day)
            last = first + dt.timedelta(days=peak.days - 1)
            lo, hi = max(first, start), min(last, end)
            if lo <= hi:
                out.append((peak, (lo - start).days, (hi - start).days))
    return out


def _peak_factor(day: Ints, start: dt.date, days: int, params: WorldParams, which: str) -> Floats:
    out = np.ones(day.size)
    for peak, lo, hi in peak_windows(start, days, params.peaks):
        out[(day >= lo) & (day <= hi)] *= getattr(peak, which)
    return out


def miss_factor(rows: Rows, start: dt.date, days: int, params: WorldParams, drifts: list[Drift]) -> Floats:
    """Per experience row: the seasonal factor on its miss probability (weekday × peak × drift)."""
    dow = weekday(rows.day.astype(float), start)
    out: Floats = np.asarray(params.weekday_miss, dtype=float)[dow]
    out = out * _peak_factor(rows.day, start, days, params, "miss")
    for drift in drifts:
        on = np.array([key == (drift.moment, drift.segment, drift.metric) for key in rows.streams])
        hit = on[rows.stream]
        out[hit] *= drift.factor(rows.day[hit], days)
    return out


def arrival_boost(rng: np.random.Generator, n: int, days: int, start: dt.date, params: WorldParams) -> Floats:
    """Extra arrival times in the peaks: ``volume − 1`` more people a day than usual on their days."""
    extra: list[Floats] = []
    per_day = n / days
    for peak, lo, hi in peak_windows(start, days, params.peaks):
        k = int(rng.poisson(per_day * (peak.volume - 1.0) * (hi - lo + 1)))
        extra.append(rng.uniform(lo, hi + 1, k))
    return np.concatenate(extra) if extra else np.zeros(0)


def segment_mix_at(t: Floats, days: int, params: WorldParams) -> npt.NDArray[np.float64]:
    """(people, segments): each arrival's segment probabilities (moving linearly over the window)."""
    start = np.asarray(params.segment_mix, dtype=float)
    end = start if params.segment_mix_end is None else np.asarray(params.segment_mix_end, dtype=float)
    w = np.clip(t / max(days, 1), 0.0, 1.0)[:, None]
    probs: npt.NDArray[np.float64] = (1 - w) * start[None, :] + w * end[None, :]
    out: npt.NDArray[np.float64] = probs / probs.sum(axis=1, keepdims=True)
    return out


def drift_streams(
    rng: np.random.Generator,
    rows: Rows,
    spec: WorldSpec,
    days: int,
    first_day: int,
    taken: set[tuple[str, str]],
    params: WorldParams,
) -> list[Drift]:
    """``params.drifts`` streams (seen at least daily) of moments no incident touches, drifting slowly."""
    if params.drifts <= 0 or first_day >= days - 28:
        return []
    seen = rows.day >= 0
    rate = np.bincount(rows.stream[seen], minlength=len(rows.streams)) / days
    pool = [
        i
        for i in np.argsort(-rate, kind="stable").tolist()
        if rate[i] >= 1.0 and (rows.streams[i][0], rows.streams[i][2]) not in taken
    ]
    picks: list[int] = []
    for i in rng.permutation(pool).tolist() if pool else []:
        if len(picks) == params.drifts:
            break
        if all(rows.streams[j][::2] != rows.streams[i][::2] for j in picks):
            picks.append(int(i))
    return [
        Drift(rows.streams[i][0], rows.streams[i][1], rows.streams[i][2], first_day, params.drift_size)
        for i in picks
    ]


def describe(start: dt.date, days: int, params: WorldParams, drifts: list[Drift]) -> dict[str, Any]:
    """The ``seasonality`` entry of ``truth.json``."""

    def iso(day: int) -> str:
        return (start + dt.timedelta(days=day)).isoformat()

    return {
        "weekday_miss": list(params.weekday_miss),
        "peaks": [
            {"name": p.name, "start": iso(lo), "end": iso(hi), "volume": p.volume, "miss": p.miss}
            for p, lo, hi in peak_windows(start, days, params.peaks)
        ],
        "drifts": [
            {
                "moment": d.moment,
                "segment": d.segment,
                "metric": d.metric,
                "start": iso(d.start_day),
                "end": iso(days - 1),
                "size": d.size,
            }
            for d in drifts
        ],
        "segment_mix": {
            "start": list(params.segment_mix),
            "end": list(params.segment_mix_end or params.segment_mix),
        },
    }


def calendar_effects(start: dt.date, days: int, params: WorldParams) -> list[dict[str, Any]]:
    """The window's holiday peaks as ``detection.calendar`` entries: what a business knows of its own
    sales (their dates, and last year's factor on misses), so its workspace declares them."""
    return [
        {
            "name": p.name,
            "start": (start + dt.timedelta(days=lo)).isoformat(),
            "end": (start + dt.timedelta(days=hi)).isoformat(),
            "factor": p.miss,
        }
        for p, lo, hi in peak_windows(start, days, params.peaks)
    ]
