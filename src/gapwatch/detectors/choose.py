"""Choose a chart by metric kind and volume; detect on a parent stream, explain by children.

The normal approximation behind daily p-chart limits needs n·p ≥ 5 expected misses per
period (Montgomery, §7.2; below it the real false-alarm rate is several times the nominal
one, see ``evaluate``).  So, per stream:

* rate of misses, expected misses per day ≥ ``min_expected`` → daily p chart, Laney p′
  where over-dispersed (``PChart(laney="auto")``);
* fewer per day but ≥ ``min_expected`` per week → weekly p / p′ chart;
* fewer still → per-event charts: the Bernoulli CUSUM on each experience (Reynolds &
  Stoumbos 1999), which judges every event as it arrives (during the fact);
* continuous gap with ≥ ``min_events`` experiences a day → daily EWMA of the period mean;
  fewer per day but enough per week → weekly EWMA; else EWMA on individual experiences.

Every choice carries a one-line reason that alerts quote; ``override`` (from
``gapwatch.yaml``) wins and says so.  Streams nest (moment → moment × segment): the parent has
the most power and the fewest tests; ``explain_by_children`` ranks the children by their share
of the parent's excess misses in a flagged period, to route the alert.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["ChildContribution", "MethodChoice", "choose_method", "explain_by_children"]

MetricKind = Literal["rate", "gap"]


@dataclass(frozen=True)
class MethodChoice:
    """The chart chosen for a stream and why."""

    method: str  # "p-laney-auto", "bcusum", "ewma-mean", "ewma-individual"
    period: str  # "day", "week", "event"
    reason: str


def choose_method(
    kind: MetricKind,
    volume_per_day: float,
    miss_rate: float | None = None,
    min_expected: float = 5.0,
    min_events: float = 5.0,
    override: str | None = None,
) -> MethodChoice:
    """Pick the chart for one stream from its typical daily volume (and miss rate).

    Examples
    --------
    >>> choose_method("rate", 400, 0.05).method
    'p-laney-auto'
    >>> choose_method("rate", 20, 0.05).period
    'week'
    >>> choose_method("rate", 3, 0.02).method
    'bcusum'
    """
    if override:
        return MethodChoice(override, "configured", f"{override}: set in gapwatch.yaml (override)")
    if volume_per_day < 0:
        raise ValueError("volume_per_day must not be negative")
    if kind == "rate":
        p = 0.0 if miss_rate is None else float(miss_rate)
        daily = volume_per_day * min(p, 1 - p)
        if daily >= min_expected:
            return MethodChoice(
                "p-laney-auto",
                "day",
                f"daily p chart: {daily:.1f} expected misses a day (n·p ≥ {min_expected:g})",
            )
        if 7 * daily >= min_expected:
            return MethodChoice(
                "p-laney-auto",
                "week",
                f"weekly p chart: only {daily:.2g} expected misses a day, {7 * daily:.1f} a week",
            )
        return MethodChoice(
            "bcusum",
            "event",
            f"Bernoulli CUSUM per experience: {7 * daily:.2g} expected misses a week is too "
            "thin for any period chart",
        )
    if kind != "gap":
        raise ValueError(f"kind must be 'rate' or 'gap', got {kind!r}")
    if volume_per_day >= min_events:
        return MethodChoice(
            "ewma-mean", "day", f"daily EWMA of the mean gap: {volume_per_day:.0f} experiences a day"
        )
    if 7 * volume_per_day >= min_events:
        return MethodChoice(
            "ewma-mean", "week", f"weekly EWMA of the mean gap: {volume_per_day:.2g} experiences a day"
        )
    return MethodChoice(
        "ewma-individual", "event", f"EWMA on each experience: {7 * volume_per_day:.2g} experiences a week"
    )


@dataclass(frozen=True)
class ChildContribution:
    """One child's part in a parent's signal."""

    child: int
    excess: float  # misses above the child's baseline expectation
    z: float  # that excess in binomial standard errors
    share: float  # excess / total positive excess of the children


def explain_by_children(
    counts: ArrayLike, sizes: ArrayLike, baseline_rate: ArrayLike, period: int
) -> list[ChildContribution]:
    """Rank the children (rows of ``counts``/``sizes``, shape (C, T)) at ``period``.

    Children are ordered by excess misses x - n·p₀ (largest first); the share is of the total
    positive excess, so the top children explain, and route, the parent's signal.
    """
    x = np.asarray(counts, dtype=float)[:, period]
    n = np.asarray(sizes, dtype=float)[:, period]
    p0 = np.broadcast_to(np.asarray(baseline_rate, dtype=float), x.shape)
    ok = ~np.isnan(x) & (n > 0)
    excess = np.where(ok, x - n * p0, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(ok & (p0 > 0) & (p0 < 1), excess / np.sqrt(n * p0 * (1 - p0)), np.nan)
    total = np.clip(excess, 0.0, None).sum()
    order = np.argsort(-excess, kind="stable")
    return [
        ChildContribution(
            int(i), float(excess[i]), float(z[i]), float(max(excess[i], 0.0) / total) if total else 0.0
        )
        for i in order
        if ok[i]
    ]
