"""Known incidents: a stream's miss probability multiplied by ``size`` for a stretch of days.

Incidents go after a clean baseline (the detector's first ``baseline_days`` plus two weeks, and
for a thin stream the days its baseline needs to hold ``baseline_events`` events and
``baseline_misses`` misses at its expected rate, as the monitor's baseline finder does), are
staggered over the rest of the window, and alternate between busy and thin streams, preferring a
silo and a moment not hit yet. Busy streams get short, moderate incidents; thin ones longer, harsher
ones, so both are detectable in principle and the demo shows how volume changes detection delay.

Those are *local*: one segment of one moment. When at least ``SYSTEMIC_FROM`` incidents are asked
for, one of them is *systemic* instead (segment ``all``): it multiplies the miss probability of a
moment x metric for every segment, on the busiest moment x metric of the most severe Kano class
(``delivery_days`` by default), by ``SYSTEMIC_SIZE`` for ``SYSTEMIC_DAYS`` days, starting right
after the clean margin so that the customers it let down finish their journeys and answer the
survey inside the window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gapwatch.config.schema import DetectionSection
from gapwatch.simulate.calendar import Floats
from gapwatch.simulate.experiences import Rows, baseline_miss
from gapwatch.simulate.params import WorldParams
from gapwatch.simulate.spec import KANO_CODES, WorldSpec

MIN_RATE = 0.7  # events a day; thinner streams cannot show anything within weeks
MARGIN = 14  # clean days after the baseline before the first incident
ALL = "all"  # the segment of a systemic incident (and of a moment whose source has no segments)
SYSTEMIC_FROM = 3  # with this many incidents or more, one of them is systemic
SYSTEMIC_SIZE = 3.0
SYSTEMIC_DAYS = 42


@dataclass(frozen=True, slots=True)
class Incident:
    id: str
    moment: str
    segment: str
    metric: str
    silo: str
    source: str
    start_day: int  # first affected day (offset from the window start)
    end_day: int  # last affected day, inclusive
    size: float  # multiplier on the stream's miss probability
    volume: str  # "busy", "thin" or "systemic" (every segment of the moment x metric)

    @property
    def systemic(self) -> bool:
        return self.volume == "systemic"

    def covers(self, stream: tuple[str, str, str]) -> bool:
        """Does the incident multiply this (moment, segment, metric) stream's miss probability?"""
        moment, segment, metric = stream
        same = (moment, metric) == (self.moment, self.metric)
        return same and (segment == self.segment or (self.systemic and self.segment == ALL))


def min_days(baseline_days: int) -> int:
    """The shortest window that leaves room for an incident after a clean baseline."""
    return baseline_days + MARGIN + 14


def ready_days(rate: Floats, p0: Floats, detection: DetectionSection) -> Floats:
    """Days a stream needs (at ``rate`` events a day, ``p0`` missed) to complete its baseline."""
    with np.errstate(divide="ignore"):
        events = detection.baseline_events / rate
        misses = np.minimum(detection.baseline_misses / (rate * p0), detection.baseline_events_rare / rate)
    out: Floats = np.maximum(float(detection.baseline_days), np.maximum(events, misses))
    return out


def place(
    rng: np.random.Generator,
    rows: Rows,
    spec: WorldSpec,
    days: int,
    detection: DetectionSection,
    k: int,
    params: WorldParams | None = None,
) -> list[Incident]:
    """Choose ``k`` streams and windows; fewer if the world has fewer eligible streams."""
    params = params or WorldParams()
    baseline_days = detection.baseline_days
    if k == 0:
        return []
    if days < min_days(baseline_days):
        raise ValueError(
            f"--days must be at least {min_days(baseline_days)} to place incidents after the "
            f"{baseline_days}-day baseline (or use --incidents 0)"
        )
    seen = rows.day >= 0
    rate = np.bincount(rows.stream[seen], minlength=len(rows.streams)) / days
    earliest = np.ceil(ready_days(rate, baseline_miss(spec, rows.streams, params), detection)) + MARGIN
    eligible = [
        int(i)
        for i in np.argsort(-rate, kind="stable")
        if rate[i] >= MIN_RATE and earliest[i] <= days - 7 - 14  # room for a two-week incident
    ]
    wide = _systemic_target(rows, spec, rate) if k >= SYSTEMIC_FROM else None
    if wide is not None:  # its streams are taken: local incidents go elsewhere
        eligible = [i for i in eligible if rows.streams[i][::2] != wide]
    half = (len(eligible) + 1) // 2
    pools = {"busy": eligible[:half], "thin": eligible[half:] or eligible[:half]}
    picks: list[tuple[int, str]] = []
    for n in range(min(k - (wide is not None), len(eligible))):
        volume = "busy" if n % 2 == 0 else "thin"
        stream = _pick(rng, pools[volume], picks, rows, spec, wide)
        if stream is None:
            break
        picks.append((stream, volume))
    slots = rng.permutation(len(picks))
    local = [
        _window(
            rng,
            n,
            stream,
            volume,
            (int(slots[n]), len(picks)),
            rows,
            spec,
            days,
            baseline_days,
            int(earliest[stream]),
            params,
        )
        for n, (stream, volume) in enumerate(picks)
    ]
    if wide is None:
        return local
    return [*local, _systemic(rng, len(local), wide, spec, days, baseline_days)]


def _systemic_target(rows: Rows, spec: WorldSpec, rate: Floats) -> tuple[str, str] | None:
    """The moment x metric a systemic incident hits: the most severe Kano class, then the busiest.

    Only moments whose source tells segments apart qualify (else "every segment" is one stream),
    and only if each segment's stream has at least ``MIN_RATE`` events a day.
    """
    groups: dict[tuple[str, str], list[int]] = {}
    for i, (moment, _, metric) in enumerate(rows.streams):
        if spec.moments[spec.moment_index(moment)].segmented:
            groups.setdefault((moment, metric), []).append(i)
    ranked = [
        (_severity(spec, moment, metric), -float(rate[members].sum()), (moment, metric))
        for (moment, metric), members in groups.items()
        if len(members) == len(spec.segments) and float(rate[members].min()) >= MIN_RATE
    ]
    return min(ranked)[2] if ranked else None


def _severity(spec: WorldSpec, moment: str, metric: str) -> int:
    """Rank of the most severe Kano class among the moment x metric's expectations (0: must-be)."""
    found = [
        KANO_CODES.index(e.kano)
        for e in spec.config.expectations
        if e.moment == moment and e.metric == metric and e.kano in KANO_CODES
    ]
    return min(found, default=len(KANO_CODES))


def _systemic(
    rng: np.random.Generator, n: int, target: tuple[str, str], spec: WorldSpec, days: int, baseline_days: int
) -> Incident:
    first = baseline_days + MARGIN
    start = min(first + int(rng.integers(0, 7)), days - 7)
    end = min(start + SYSTEMIC_DAYS - 1, days - 1)
    moment, metric = target
    info = spec.moments[spec.moment_index(moment)]
    return Incident(
        f"INC-{n + 1}",
        moment,
        ALL,
        metric,
        info.silo,
        info.source or "",
        start,
        end,
        SYSTEMIC_SIZE,
        "systemic",
    )


def _pick(
    rng: np.random.Generator,
    pool: list[int],
    picks: list[tuple[int, str]],
    rows: Rows,
    spec: WorldSpec,
    wide: tuple[str, str] | None = None,
) -> int | None:
    taken = {s for s, _ in picks}
    moments = {rows.streams[s][0] for s in taken} | ({wide[0]} if wide else set())
    silos = {spec.moments[spec.moment_index(m)].silo for m in moments}
    free = [s for s in pool if s not in taken]
    if not free:
        return None

    def novelty(s: int) -> int:
        moment = rows.streams[s][0]
        return (spec.moments[spec.moment_index(moment)].silo not in silos) * 2 + (moment not in moments)

    best = max(novelty(s) for s in free)
    return int(rng.choice([s for s in free if novelty(s) == best]))


def _window(
    rng: np.random.Generator,
    n: int,
    stream: int,
    volume: str,
    slotting: tuple[int, int],
    rows: Rows,
    spec: WorldSpec,
    days: int,
    baseline_days: int,
    earliest: int,
    params: WorldParams,
) -> Incident:
    slot, slots = slotting
    first, last = baseline_days + MARGIN, days - 7
    width = max((last - first) // slots, 1)
    duration = int(rng.integers(7, 15)) if volume == "busy" else int(rng.integers(21, 36))
    sizes = params.busy_sizes if volume == "busy" else params.thin_sizes
    size = float(rng.choice(np.asarray(sizes, dtype=float)))
    start = first + slot * width + int(rng.integers(0, max(width // 3, 1)))
    start = min(max(start, earliest), last - 7)
    end = min(start + duration - 1, days - 1)
    moment, segment, metric = rows.streams[stream]
    info = spec.moments[spec.moment_index(moment)]
    return Incident(
        f"INC-{n + 1}", moment, segment, metric, info.silo, info.source or "", start, end, size, volume
    )


def streams_hit(rows: Rows, inc: Incident) -> list[int]:
    """The stream indices an incident multiplies (one, or every segment of a systemic incident)."""
    return [i for i, key in enumerate(rows.streams) if inc.covers(key)]


def rows_hit(rows: Rows, inc: Incident) -> npt.NDArray[np.bool_]:
    """Per experience row: is it on one of the incident's streams, during the incident?"""
    on = np.isin(rows.stream, streams_hit(rows, inc))
    hit: npt.NDArray[np.bool_] = on & (rows.day >= inc.start_day) & (rows.day <= inc.end_day)
    return hit


def multiplier(rows: Rows, incidents: list[Incident]) -> Floats:
    """Per experience row: the incident size in force, else 1."""
    out = np.ones(rows.touch.size)
    for inc in incidents:
        out[rows_hit(rows, inc)] *= inc.size
    return out
