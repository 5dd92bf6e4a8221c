"""Weekday rhythm and time of day. Times are float days since the window's first midnight (UTC)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


def weekday(t: Floats, start: dt.date) -> Ints:
    """Monday = 0 ... Sunday = 6 for each time."""
    return ((np.floor(t).astype(np.int64) + start.weekday()) % 7).astype(np.int64)


def shift_weekends(rng: np.random.Generator, t: Floats, start: dt.date, prob: Floats) -> Floats:
    """Move events falling on Saturday/Sunday to the next Monday with probability ``prob`` (per event).

    One-off events (a call, a delivery) are postponed, not lost: the weekend dips, Monday peaks.
    """
    dow = weekday(t, start)
    move = (dow >= 5) & (rng.random(t.size) < prob)
    return np.where(move, t + (7 - dow), t)


def keep_weekdays(rng: np.random.Generator, t: Floats, start: dt.date, keep: Floats) -> npt.NDArray[np.bool_]:
    """Thinning mask: weekend events survive with probability ``keep`` (per event), weekdays always."""
    dow = weekday(t, start)
    return (dow < 5) | (rng.random(t.size) < keep)


def weekend_boost(keep: Floats) -> Floats:
    """Rate multiplier so that thinning weekends keeps the weekly volume."""
    return 7.0 / (5.0 + 2.0 * keep)


def with_time_of_day(
    rng: np.random.Generator, t: Floats, peak_hour: float = 14.0, spread: float = 3.5
) -> Floats:
    """Keep each event's day, draw its hour around ``peak_hour`` (a working-day rhythm)."""
    hours = np.clip(rng.normal(peak_hour, spread, t.size), 0.0, 23.99)
    return np.floor(t) + hours / 24.0


def gamma_days(rng: np.random.Generator, mean: Floats, shape: float = 2.0) -> Floats:
    """Positive durations with the given means (gamma, so most are near the mean, some long)."""
    return rng.gamma(shape, 1.0, mean.size) * (mean / shape)
