"""Known incidents: a stream's miss probability multiplied by ``size`` for a stretch of days.

Incidents go after a clean baseline (the detector's first ``baseline_days`` plus two weeks), are
staggered over the rest of the window, and alternate between busy and thin streams, preferring a
silo and a moment not hit yet. Busy streams get short, moderate incidents; thin ones longer, harsher
ones, so both are detectable in principle and the demo shows how volume changes detection delay.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gapwatch.simulate.calendar import Floats
from gapwatch.simulate.experiences import Rows
from gapwatch.simulate.spec import WorldSpec

MIN_RATE = 0.7  # events a day; thinner streams cannot show anything within weeks
MARGIN = 14  # clean days after the baseline before the first incident


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
    volume: str  # "busy" or "thin"


def min_days(baseline_days: int) -> int:
    """The shortest window that leaves room for an incident after a clean baseline."""
    return baseline_days + MARGIN + 14


def place(
    rng: np.random.Generator, rows: Rows, spec: WorldSpec, days: int, baseline_days: int, k: int
) -> list[Incident]:
    """Choose ``k`` streams and windows; fewer if the world has fewer eligible streams."""
    if k == 0:
        return []
    if days < min_days(baseline_days):
        raise ValueError(
            f"--days must be at least {min_days(baseline_days)} to place incidents after the "
            f"{baseline_days}-day baseline (or use --incidents 0)"
        )
    seen = rows.day >= 0
    rate = np.bincount(rows.stream[seen], minlength=len(rows.streams)) / days
    eligible = [int(i) for i in np.argsort(-rate, kind="stable") if rate[i] >= MIN_RATE]
    half = (len(eligible) + 1) // 2
    pools = {"busy": eligible[:half], "thin": eligible[half:] or eligible[:half]}
    picks: list[tuple[int, str]] = []
    for n in range(min(k, len(eligible))):
        volume = "busy" if n % 2 == 0 else "thin"
        stream = _pick(rng, pools[volume], picks, rows, spec)
        if stream is None:
            break
        picks.append((stream, volume))
    slots = rng.permutation(len(picks))
    return [
        _window(rng, n, stream, volume, int(slots[n]), len(picks), rows, spec, days, baseline_days)
        for n, (stream, volume) in enumerate(picks)
    ]


def _pick(
    rng: np.random.Generator, pool: list[int], picks: list[tuple[int, str]], rows: Rows, spec: WorldSpec
) -> int | None:
    taken = {s for s, _ in picks}
    moments = {rows.streams[s][0] for s in taken}
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
    slot: int,
    slots: int,
    rows: Rows,
    spec: WorldSpec,
    days: int,
    baseline_days: int,
) -> Incident:
    first, last = baseline_days + MARGIN, days - 7
    width = max((last - first) // slots, 1)
    duration = int(rng.integers(7, 15)) if volume == "busy" else int(rng.integers(21, 36))
    size = float(rng.choice([2.0, 2.5, 3.0])) if volume == "busy" else float(rng.choice([4.0, 5.0, 6.0]))
    start = first + slot * width + int(rng.integers(0, max(width // 3, 1)))
    start = min(start, last - 7)
    end = min(start + duration - 1, days - 1)
    moment, segment, metric = rows.streams[stream]
    info = spec.moments[spec.moment_index(moment)]
    return Incident(
        f"INC-{n + 1}", moment, segment, metric, info.silo, info.source or "", start, end, size, volume
    )


def multiplier(rows: Rows, incidents: list[Incident]) -> Floats:
    """Per experience row: the incident size in force, else 1."""
    out = np.ones(rows.touch.size)
    for inc in incidents:
        stream = rows.streams.index((inc.moment, inc.segment, inc.metric))
        hit = (rows.stream == stream) & (rows.day >= inc.start_day) & (rows.day <= inc.end_day)
        out[hit] *= inc.size
    return out
