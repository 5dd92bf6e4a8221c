"""Experience values: each stream keeps a stable miss probability unless an incident multiplies it.

Values are drawn by quantile: ``u ~ U(0, 1)`` is mapped to a *goodness quantile* ``q`` of the
stream's in-control distribution so that exactly the share ``p`` (the incident-adjusted miss
probability) falls below the adequate level, and the shapes of the miss and non-miss regions are
kept. In control ``q = u``. Measures are log-normal in "goodness" space, fixed by two quantiles:
P(miss) = p0 at adequate and P(exceed) = ``exceed`` at desired; ratings are discrete levels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import ndtri

from gapwatch.simulate.calendar import Floats, Ints
from gapwatch.simulate.params import WorldParams
from gapwatch.simulate.spec import WorldSpec


@dataclass(frozen=True, slots=True)
class Rows:
    """Experience rows before values: which touch, which metric, which stream."""

    touch: Ints
    metric: tuple[str, ...]  # metric names, indexed by ``metric_idx``
    metric_idx: npt.NDArray[np.int16]
    stream: Ints  # index into ``streams``
    streams: tuple[tuple[str, str, str], ...]  # (moment, segment, metric)
    day: Ints


@dataclass(frozen=True, slots=True)
class Values:
    value: Floats
    expected: Floats  # stated expectation (NaN where none)
    desired: Floats
    kano: npt.NDArray[np.int8]
    signed: Floats
    normalised: Floats
    status: npt.NDArray[np.int8]
    p0: Floats


def expand(
    rng: np.random.Generator,
    spec: WorldSpec,
    moment: npt.NDArray[np.int16],
    segment: npt.NDArray[np.int8],
    t: Floats,
    params: WorldParams,
) -> Rows:
    """One row per touch and metric; optional metrics (a ticket's csat) only sometimes answered."""
    metrics = tuple(sorted({k for m in spec.moments for k in m.metrics}))
    touch_parts, metric_parts = [], []
    for index, info in enumerate(spec.moments):
        touches = np.flatnonzero(moment == index)
        for name in info.metrics:
            rows = touches
            if len(info.metrics) > 1 and _optional(spec, info.key, name):
                rows = touches[rng.random(touches.size) < params.optional_share]
            touch_parts.append(rows)
            metric_parts.append(np.full(rows.size, metrics.index(name), dtype=np.int16))
    touch = np.concatenate(touch_parts)
    metric_idx = np.concatenate(metric_parts)
    order = np.lexsort((metric_idx, touch))
    touch, metric_idx = touch[order], metric_idx[order]
    seg_names = np.array([*spec.segments, "all"])
    segmented = np.array([m.segmented for m in spec.moments])
    seg_code = np.where(segmented[moment[touch]], segment[touch], len(spec.segments))
    key = (moment[touch].astype(np.int64) * (len(spec.segments) + 1) + seg_code) * len(metrics) + metric_idx
    unique, stream = np.unique(key, return_inverse=True)
    streams = tuple(
        (
            spec.moments[int(k) // len(metrics) // (len(spec.segments) + 1)].key,
            str(seg_names[int(k) // len(metrics) % (len(spec.segments) + 1)]),
            metrics[int(k) % len(metrics)],
        )
        for k in unique
    )
    return Rows(
        touch, metrics, metric_idx, stream.astype(np.int64), streams, np.floor(t[touch]).astype(np.int64)
    )


def _optional(spec: WorldSpec, moment: str, metric: str) -> bool:
    entry = spec.experience_entry(moment, metric)
    return entry is not None and entry.optional


def baseline_miss(spec: WorldSpec, streams: tuple[tuple[str, str, str], ...], params: WorldParams) -> Floats:
    """In-control miss probability per stream."""
    factor = dict(zip(spec.segments, params.segment_miss_factor, strict=False))
    return np.array(
        [
            min(params.miss.get(f"{m}:{k}", params.default_miss) * factor.get(s, 1.0), 0.5)
            for m, s, k in streams
        ]
    )


def goodness_quantile(u: Floats, p: Floats, p0: Floats) -> Floats:
    """Map uniforms so that P(q < p0) = p, keeping the in-control shape on both sides of p0."""
    return np.where(u < p, u / p * p0, p0 + (u - p) / (1.0 - p) * (1.0 - p0))


def measure(q: Floats, adequate: Floats, desired: Floats, sign: float, p0: Floats, exceed: float) -> Floats:
    """A positive measure from its goodness quantile (log-normal fixed at adequate and desired)."""
    logs = bool(np.all(adequate > 0) and np.all(desired > 0))
    g_a = sign * (np.log(adequate) if logs else adequate)
    g_d = sign * (np.log(desired) if logs else desired)
    z_miss, z_exceed = ndtri(p0), ndtri(1.0 - exceed)
    s = (g_d - g_a) / (z_exceed - z_miss)
    g = g_a + s * (ndtri(np.clip(q, 1e-12, 1 - 1e-12)) - z_miss)
    result: Floats = np.exp(sign * g) if logs else sign * g
    return result


def rating(q: Floats, adequate: float, sign: float, scale: tuple[float, float], p0: float) -> Floats:
    """A level on an integer scale; levels worse than adequate share ``p0``, most of it near adequate."""
    levels = np.arange(int(scale[0]), int(scale[1]) + 1, dtype=float)
    levels = levels[np.argsort(sign * levels)]  # worst first
    missed = sign * (levels - adequate) < 0
    w_miss = np.arange(1, missed.sum() + 1, dtype=float)
    w_ok = np.r_[1.0, np.full(max((~missed).sum() - 1, 0), 2.0)]
    probs = np.r_[p0 * w_miss / w_miss.sum(), (1 - p0) * w_ok / w_ok.sum()]
    cdf = np.cumsum(probs)
    picked: Floats = levels[np.minimum(np.searchsorted(cdf, q, side="right"), levels.size - 1)]
    return picked
