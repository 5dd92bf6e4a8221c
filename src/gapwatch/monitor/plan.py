"""Which chart watches which stream, on what baseline, with what limits.

* Baseline: found per stream (:mod:`gapwatch.monitor.baseline`): the first window that holds
  enough events and misses, or the workspace's fixed window when ``baseline_start`` is set.
  A stream whose baseline is not complete is "too thin" and says why.
* Method by volume (DESIGN.md, "Streams are small, many and nested"): the daily p-chart's
  normal approximation needs n·p̄ ≥ 5 and n·(1 − p̄) ≥ 5 on an average baseline day; a
  stream too thin for that has its mean gap charted per ISO week (EWMA) and its misses judged
  per experience by the Bernoulli CUSUM (``events.py``), which sees a shift as it happens
  instead of at the week's end. An override may fix the chart and its period
  (``detection.overrides``: e.g. ``method: pprime, period: week``).
* Limits: one false-alarm budget per workspace (``false_alarms_per_week``) is spread evenly
  over every point judged in a week (the SPC engine's ``limits_for_budget``), so the per-point
  two-sided risk is α = budget / points-per-week and L = Φ⁻¹(1 − α/2). A per-stream floor
  (``min_arl0_weeks``, one false alarm a year by default) keeps a small workspace from crying
  wolf: a stream judged k points a week never gets α above 1 / (k · min_arl0_weeks), whatever
  the budget would allow (two streams sharing one alarm a week would get ±1.96σ otherwise).
  The EWMA uses the same L, which gives it a longer in-control run length than the Shewhart
  chart at that L (conservative, and it spares solving the EWMA's Markov chain on every run).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from gapwatch.config.schema import DetectionSection
from gapwatch.detectors.budget import limits_for_budget
from gapwatch.monitor.arrays import StreamArrays
from gapwatch.monitor.baseline import find_baselines

__all__ = [
    "MIN_BASELINE_EVENTS",
    "Plan",
    "baseline_masks",
    "floor_multiplier",
    "limit_multiplier",
    "plan_streams",
    "stream_limits",
]

MIN_BASELINE_EVENTS = 20
NP_MIN = 5.0


@dataclass(frozen=True)
class Plan:
    """Per stream: the resolution ("day", "week" or "" when too thin) and the charts used."""

    resolution: list[str]
    p_chart: NDArray[np.bool_]  # a miss-rate chart at that resolution
    ewma: NDArray[np.bool_]  # an EWMA on the mean normalised gap
    override: list[str]  # the configured method when not "auto"
    baseline_start: list[dt.date | None]
    baseline_end: list[dt.date | None]  # last day of the baseline, inclusive

    def describe(self, i: int) -> str:
        """Human name of the method, e.g. "daily p/p′ + EWMA"."""
        if not self.resolution[i]:
            return "too thin"
        named = {"p": "p", "pprime": "Laney p′"}.get(self.override[i], "p/p′")
        parts = ([named] if self.p_chart[i] else []) + (["EWMA"] if self.ewma[i] else [])
        when = "daily" if self.resolution[i] == "day" else "weekly"
        configured = " (set in gapwatch.yaml)" if self.override[i] not in ("auto", "") else ""
        return f"{when} {' + '.join(parts)}{configured}"


def baseline_masks(arrays: StreamArrays, detection: DetectionSection) -> NDArray[np.bool_]:
    """Daily baseline mask (S, T): each stream's baseline window (:func:`find_baselines`)."""
    return find_baselines(arrays, detection).mask


def week_mask(daily_mask: NDArray[np.bool_], weeks: StreamArrays, days: StreamArrays) -> NDArray[np.bool_]:
    """A week is in the baseline when all its days that have data lie inside the daily window."""
    last = len(days.periods) - 1
    first_day = (weeks.periods - days.periods[0]).astype(int).clip(0, last)
    last_day = (weeks.period_end() - days.periods[0]).astype(int).clip(0, last)
    mask: NDArray[np.bool_] = daily_mask[:, first_day] & daily_mask[:, last_day]
    return mask


def _override(detection: DetectionSection, key: tuple[str, str, str]) -> tuple[str, str | None]:
    moment, segment, metric = key
    chosen, period = detection.method, None
    for o in detection.overrides:
        if o.moment == moment and o.metric in (None, metric) and o.segment in (None, segment):
            chosen, period = o.method, o.period
    return chosen, period


def plan_streams(
    arrays: StreamArrays,
    base: NDArray[np.bool_],
    detection: DetectionSection,
    complete: NDArray[np.bool_] | None = None,
) -> Plan:
    """Choose per stream the resolution and charts from its baseline volume.

    ``complete`` says which streams have a baseline (default: those with at least
    ``baseline_events`` events in ``base``); the others are not judged.
    """
    n = np.where(base, np.nan_to_num(arrays.sums["n"]), 0.0)
    missed = np.where(base, np.nan_to_num(arrays.sums["missed"]), 0.0)
    total = n.sum(axis=1)
    days = np.maximum(base.sum(axis=1), 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        pbar = np.where(total > 0, missed.sum(axis=1) / total, 0.0)
    np_day = total / days * np.minimum(pbar, 1 - pbar)
    enough = total >= detection.baseline_events if complete is None else complete.copy()
    daily = enough & (np_day >= NP_MIN)
    chosen = [_override(detection, k) for k in arrays.keys]
    overrides = [c[0] for c in chosen]
    resolution = ["day" if d else ("week" if e else "") for d, e in zip(daily, enough, strict=True)]
    # Below n·p̄ = 5 a day the miss rate is judged per experience (``events.py``), not per week:
    # a weekly chart waits for the week's end, the per-event CUSUM sees a shift as it happens.
    p_chart = daily.copy()
    ewma = enough.copy()
    for i, (method, period) in enumerate(chosen):
        if not enough[i]:
            continue
        if method in ("p", "pprime"):
            resolution[i], p_chart[i], ewma[i] = period or "day", True, False
        elif method == "ewma":
            resolution[i], p_chart[i], ewma[i] = period or "day", False, True
        elif period is not None:
            resolution[i] = period
    starts, ends = _baseline_bounds(arrays, base)
    return Plan(resolution, p_chart, ewma, overrides, starts, ends)


def thin_warning(arrays: StreamArrays, base: NDArray[np.bool_], plan: Plan, i: int) -> str:
    """A warning when gapwatch.yaml forces a p chart on a stream too thin for one (n·p̄ < 5 a period)."""
    if plan.override[i] not in ("p", "pprime") or not plan.p_chart[i]:
        return ""
    missed = np.where(base[i], np.nan_to_num(arrays.sums["missed"][i]), 0.0)
    days = max(int(base[i].sum()), 1)
    per = 7.0 if plan.resolution[i] == "week" else 1.0
    expected = missed.sum() / days * per
    if expected >= NP_MIN:
        return ""
    unit = "week" if per == 7.0 else "day"
    return (
        f"; warning: {expected:.1f} expected misses a {unit} (n·p̄ < {NP_MIN:g}): the chart's normal "
        "approximation is poor here"
    )


def _baseline_bounds(arrays: StreamArrays, base: NDArray[np.bool_]) -> tuple[list[dt.date | None], ...]:
    dates = arrays.dates()
    starts: list[dt.date | None] = []
    ends: list[dt.date | None] = []
    for row in base:
        idx = np.flatnonzero(row)
        starts.append(dates[idx[0]] if idx.size else None)
        ends.append(dates[idx[-1]] if idx.size else None)
    return starts, ends


def limit_multiplier(plan: Plan, budget_per_week: float, extra_points: float = 0.0) -> float:
    """L such that all judged points together raise about ``budget_per_week`` false alarms.

    ``extra_points``: points a week judged elsewhere at the same per-point risk (per-event charts).
    """
    points = float(extra_points)
    for i, res in enumerate(plan.resolution):
        points += _points_per_week(plan, i, res)
    if points <= 0:
        return 3.0
    budget = limits_for_budget(max(round(points), 1), 1.0, min(budget_per_week, 0.05 * points), "shewhart")
    return float(budget.L or 3.0)


def _points_per_week(plan: Plan, i: int, res: str) -> float:
    per_week = 7.0 if res == "day" else (1.0 if res == "week" else 0.0)
    return per_week * (int(plan.p_chart[i]) + int(plan.ewma[i]))


def floor_multiplier(points_per_week: float, min_arl0_weeks: float) -> float:
    """The smallest L at which a stream judged ``points_per_week`` times a week raises at most one
    false alarm in ``min_arl0_weeks`` weeks (0 when there is no floor).

    Examples
    --------
    >>> round(floor_multiplier(1.0, 52), 2), round(floor_multiplier(14.0, 52), 2)
    (2.34, 3.2)
    """
    if min_arl0_weeks <= 0 or points_per_week <= 0:
        return 0.0
    alpha = min(1.0 / (points_per_week * min_arl0_weeks), 1.0)
    return float(stats.norm.isf(alpha / 2.0))


def stream_limits(plan: Plan, L: float, min_arl0_weeks: float) -> NDArray[np.float64]:
    """Per stream: the workspace's L, raised to the stream's ARL₀ floor where that is stricter."""
    out = np.full(len(plan.resolution), float(L))
    per_week = np.array([_points_per_week(plan, i, res) for i, res in enumerate(plan.resolution)])
    judged = per_week > 0
    if min_arl0_weeks <= 0 or not judged.any():
        return out
    # floor_multiplier for every stream in one call (one scipy call per stream cost 0.1 s at 1,000)
    alpha = np.minimum(1.0 / (per_week[judged] * min_arl0_weeks), 1.0)
    out[judged] = np.maximum(float(L), stats.norm.isf(alpha / 2.0))
    return out
