"""The evaluate harness: real false-alarm rates and detection delays, by simulation.

Textbook ARL₀ assumes normal points and known parameters.  With thin streams (n·p < 5) the
binomial is skewed and discrete and the limits are estimated from a short baseline, so the
real false-alarm rate of a "3-sigma" p chart can be far from 0.27 %.  These functions measure
it on many simulated in-control streams at once (the charts are vectorised, so 2,000
streams × 365 days take a fraction of a second) and report detection delays for a step
shift, the figures docs/spc.md quotes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gapwatch.detectors.attribute import AttributeChart
from gapwatch.detectors.pchart import PChart
from gapwatch.stats.distributions import norm_sf

__all__ = ["AttributeEvaluation", "evaluate_attribute"]


@dataclass(frozen=True)
class AttributeEvaluation:
    """False alarms per 1,000 in-control points and the median delay to detect a shift."""

    p: float
    n: float
    nominal_per_1000: float
    false_alarms_per_1000: float
    median_delay: float | None
    detected_share: float | None


def evaluate_attribute(
    p: float,
    n: float,
    chart: AttributeChart | None = None,
    phase1: int = 30,
    periods: int = 365,
    streams: int = 2000,
    shift_ratio: float | None = None,
    seed: int = 0,
) -> AttributeEvaluation:
    """Simulate binomial streams: phase I of ``phase1`` periods, then ``periods`` judged.

    With ``shift_ratio`` the miss rate is multiplied by it from the first phase-II period,
    and the delay (periods from the shift to the first signal) is reported.
    """
    chart = chart if chart is not None else PChart()
    rng = np.random.default_rng(seed)
    size = np.full((streams, phase1 + periods), float(n))
    counts = rng.binomial(int(n), p, size=size.shape).astype(float)
    chart.fit(counts[:, :phase1], size[:, :phase1])
    judged = chart.judge(counts[:, phase1:], size[:, phase1:])
    alarms = judged.flags
    rate = float(alarms.sum() / alarms.size) * 1000.0
    nominal = float(2 * norm_sf(chart.L)) * 1000.0
    delay, share = None, None
    if shift_ratio is not None:
        shifted = rng.binomial(int(n), min(p * shift_ratio, 1.0), size=(streams, periods)).astype(float)
        res = chart.judge(shifted, size[:, phase1:]).flags
        hit = res.any(axis=1)
        first = np.where(hit, res.argmax(axis=1) + 1, np.nan)
        share = float(hit.mean())
        delay = float(np.nanmedian(first)) if hit.any() else None
    return AttributeEvaluation(p, n, nominal, rate, delay, share)
