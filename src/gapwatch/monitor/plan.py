"""Which chart watches which stream, on what baseline, with what limits.

* Baseline: the first ``baseline_days`` days of each stream, or the workspace's fixed
  window ``[baseline_start, baseline_start + baseline_days)`` when one is set.
* Method by volume (DESIGN.md, "Streams are small, many and nested"): the daily p-chart's
  normal approximation needs n·p̄ ≥ 5 and n·(1 − p̄) ≥ 5 on an average baseline day; a
  stream too thin for that is charted per ISO week; one too thin even for weeks gets the
  EWMA on its mean gap only; one with fewer than ``MIN_BASELINE_EVENTS`` scored events in
  its baseline is "too thin" and not judged yet.
* Limits: one false-alarm budget per workspace (``false_alarms_per_week``) is spread evenly
  over every point judged in a week (the SPC engine's ``limits_for_budget``), so the per-point
  two-sided risk is α = budget / points-per-week and L = Φ⁻¹(1 − α/2).  The EWMA uses the same
  L, which gives it a longer in-control run length than the Shewhart chart at that L
  (conservative, and it spares solving the EWMA's Markov chain on every run).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from gapwatch.config.schema import DetectionSection
from gapwatch.detectors.budget import limits_for_budget
from gapwatch.monitor.arrays import StreamArrays

__all__ = ["MIN_BASELINE_EVENTS", "Plan", "baseline_masks", "limit_multiplier", "plan_streams"]

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
        parts = (["p/p′"] if self.p_chart[i] else []) + (["EWMA"] if self.ewma[i] else [])
        when = "daily" if self.resolution[i] == "day" else "weekly"
        return f"{when} {' + '.join(parts)}"


def baseline_masks(arrays: StreamArrays, detection: DetectionSection) -> NDArray[np.bool_]:
    """Daily baseline mask (S, T): the baseline window of each stream."""
    s_count, t_count = arrays.shape
    span = np.timedelta64(detection.baseline_days, "D")
    seen = np.isfinite(arrays.sums["n"]) & (np.nan_to_num(arrays.sums["n"]) > 0)
    if detection.baseline_start is not None:
        start: NDArray[np.datetime64] = np.full(s_count, np.datetime64(detection.baseline_start, "D"))
    else:
        first = np.where(seen.any(axis=1), seen.argmax(axis=1), t_count - 1)
        start = arrays.periods[first]
    days = arrays.periods[None, :]
    mask: NDArray[np.bool_] = (days >= start[:, None]) & (days < start[:, None] + span)
    return mask


def week_mask(daily_mask: NDArray[np.bool_], weeks: StreamArrays, days: StreamArrays) -> NDArray[np.bool_]:
    """A week is in the baseline when all its days that have data lie inside the daily window."""
    last = len(days.periods) - 1
    first_day = (weeks.periods - days.periods[0]).astype(int).clip(0, last)
    last_day = (weeks.period_end() - days.periods[0]).astype(int).clip(0, last)
    mask: NDArray[np.bool_] = daily_mask[:, first_day] & daily_mask[:, last_day]
    return mask


def _override(detection: DetectionSection, key: tuple[str, str, str]) -> str:
    moment, segment, metric = key
    chosen = detection.method
    for o in detection.overrides:
        if o.moment == moment and o.metric in (None, metric) and o.segment in (None, segment):
            chosen = o.method
    return chosen


def plan_streams(arrays: StreamArrays, base: NDArray[np.bool_], detection: DetectionSection) -> Plan:
    """Choose per stream the resolution and charts from its baseline volume."""
    n = np.where(base, np.nan_to_num(arrays.sums["n"]), 0.0)
    missed = np.where(base, np.nan_to_num(arrays.sums["missed"]), 0.0)
    total = n.sum(axis=1)
    days = np.maximum(base.sum(axis=1), 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        pbar = np.where(total > 0, missed.sum(axis=1) / total, 0.0)
    np_day = total / days * np.minimum(pbar, 1 - pbar)
    enough = total >= MIN_BASELINE_EVENTS
    daily = enough & (np_day >= NP_MIN)
    weekly_p = enough & ~daily & (np_day * 7 >= NP_MIN)
    overrides = [_override(detection, k) for k in arrays.keys]
    resolution = ["day" if d else ("week" if e else "") for d, e in zip(daily, enough, strict=True)]
    p_chart = daily | weekly_p
    ewma = enough.copy()
    for i, method in enumerate(overrides):
        if method in ("p", "pprime") and enough[i]:
            resolution[i], p_chart[i], ewma[i] = "day", True, False
        elif method == "ewma" and enough[i]:
            resolution[i], p_chart[i], ewma[i] = "day", False, True
    starts, ends = _baseline_bounds(arrays, base)
    return Plan(resolution, p_chart, ewma, overrides, starts, ends)


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
        per_week = 7.0 if res == "day" else (1.0 if res == "week" else 0.0)
        points += per_week * (int(plan.p_chart[i]) + int(plan.ewma[i]))
    if points <= 0:
        return 3.0
    budget = limits_for_budget(max(round(points), 1), 1.0, min(budget_per_week, 0.05 * points), "shewhart")
    return float(budget.L or 3.0)
