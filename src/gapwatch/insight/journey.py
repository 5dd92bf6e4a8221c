"""A customer's journey so far as model features, at every moment it changed.

Events (experiences and analysed comments) are sorted by customer and time; after each event
the customer's *snapshot* holds, per moment of truth: experiences so far, misses so far, the
worst normalised gap so far and the days since that moment's last miss; and overall: journey
age, experiences, misses, share missed, worst gap, days since the last miss, the last
experience's normalised gap, comments, negative comments, the lowest sentiment, the highest
learned text score and complaint / cancel intents. A snapshot uses only events up to its
time, so a model trained on snapshots taken before the survey answer never sees the future,
and scoring a customer again after a new event needs only their own events (no retraining).

Pure numpy: the caller reads the events from the store.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gapwatch.insight.encode import Features

__all__ = ["JourneyEvents", "Snapshots", "snapshots"]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
FAR = 365.0  # days since a miss that never happened


@dataclass(frozen=True, slots=True)
class JourneyEvents:
    """Events of many customers (any order); text columns are NaN on experience rows and vice versa."""

    customer: npt.NDArray[np.object_]
    time: Floats  # days (any origin, the same for every row)
    moment: npt.NDArray[np.object_]
    gap_norm: Floats  # NaN for comments
    missed: npt.NDArray[np.bool_]
    is_text: npt.NDArray[np.bool_]
    negative: Floats  # 1/0 for comments with a known sentiment, else NaN
    sentiment: Floats
    learned: Floats
    complaint: npt.NDArray[np.bool_]
    cancel: npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Snapshots:
    """One row per event: the customer's features just after it."""

    customer: npt.NDArray[np.object_]
    time: Floats
    features: Features
    moments: tuple[str, ...]

    def last_before(self, customers: npt.NDArray[np.object_], times: Floats) -> Ints:
        """Row of each customer's last snapshot strictly before ``times`` (-1: none)."""
        index = {c: i for i, c in enumerate(np.unique(self.customer))}
        out = np.full(customers.size, -1, dtype=np.int64)
        codes = np.array([index.get(c, -1) for c in self.customer])
        order = np.lexsort((self.time, codes))
        sorted_codes, sorted_times = codes[order], self.time[order]
        for j, (c, t) in enumerate(zip(customers, times, strict=True)):
            k = index.get(c)
            if k is None:
                continue
            lo, hi = np.searchsorted(sorted_codes, [k, k + 1])
            pos = lo + int(np.searchsorted(sorted_times[lo:hi], t, side="left")) - 1
            if pos >= lo:
                out[j] = order[pos]
        return out


PER_MOMENT = ("seen", "missed", "worst_gap", "days_since_miss")
OVERALL = (
    "journey_days",
    "experiences",
    "misses",
    "miss_share",
    "worst_gap",
    "days_since_miss",
    "last_gap",
    "comments",
    "negative_comments",
    "lowest_sentiment",
    "highest_text_risk",
    "complaint",
    "cancel",
)


def _group_starts(codes: Ints) -> Ints:
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    return np.asarray(starts, dtype=np.int64)


def _cum_by_group(values: Floats, starts: Ints, n: int) -> Floats:
    total = np.cumsum(values)
    base = np.repeat(np.r_[0.0, total][starts], np.diff(np.r_[starts, n]))
    out: Floats = total - base
    return out


def _acc_by_group(values: Floats, starts: Ints, n: int, ufunc: np.ufunc) -> Floats:
    out = np.empty(n)
    for a, b in zip(starts, np.r_[starts[1:], n], strict=True):
        out[a:b] = ufunc.accumulate(values[a:b])
    return out


def _last_time(mask: npt.NDArray[np.bool_], time: Floats, starts: Ints, n: int) -> Floats:
    """Time of the last row (up to each row) where ``mask`` held, within the customer; NaN if none."""
    stamp = np.where(mask, time, -np.inf)
    last = _acc_by_group(stamp, starts, n, np.maximum)
    return np.where(np.isfinite(last), last, np.nan)


def snapshots(events: JourneyEvents, moments: tuple[str, ...] | None = None) -> Snapshots:
    """Every customer's snapshot after each of their events."""
    known = tuple(sorted({str(m) for m in events.moment[~events.is_text]})) if moments is None else moments
    cust_codes = np.unique(events.customer, return_inverse=True)[1].astype(np.int64)
    order = np.lexsort((events.time, cust_codes))
    e = _take(events, order)
    codes = cust_codes[order]
    n = codes.size
    starts = _group_starts(codes) if n else np.zeros(0, dtype=np.int64)
    exp = (~e.is_text).astype(np.float64)
    miss = (e.missed & ~e.is_text).astype(np.float64)
    gap = np.where(e.is_text, np.inf, np.nan_to_num(e.gap_norm, nan=np.inf))
    cols: list[Floats] = []
    names: list[str] = []
    for m in known:
        at = (e.moment == m) & ~e.is_text
        seen = _cum_by_group(at.astype(np.float64), starts, n)
        missed = _cum_by_group((at & e.missed).astype(np.float64), starts, n)
        worst = _acc_by_group(np.where(at, gap, np.inf), starts, n, np.minimum)
        last_miss = _last_time(at & e.missed, e.time, starts, n)
        cols += [
            seen,
            missed,
            np.where(np.isfinite(worst), np.minimum(worst, 0.0), 0.0),
            np.where(np.isnan(last_miss), FAR, e.time - last_miss),
        ]
        names += [f"{m}: {p}" for p in PER_MOMENT]
    first = np.repeat(e.time[starts], np.diff(np.r_[starts, n])) if n else np.zeros(0)
    count = _cum_by_group(exp, starts, n)
    misses = _cum_by_group(miss, starts, n)
    worst_all = _acc_by_group(gap, starts, n, np.minimum)
    last_miss_all = _last_time(e.missed & ~e.is_text, e.time, starts, n)
    last_gap = _last_value(np.where(e.is_text, np.nan, np.nan_to_num(e.gap_norm, nan=0.0)), starts, n)
    text = e.is_text.astype(np.float64)
    neg = np.where(e.is_text, np.nan_to_num(e.negative, nan=0.0), 0.0)
    sent = _acc_by_group(
        np.where(e.is_text & np.isfinite(e.sentiment), e.sentiment, np.inf), starts, n, np.minimum
    )
    risk = _acc_by_group(
        np.where(e.is_text & np.isfinite(e.learned), e.learned, -np.inf), starts, n, np.maximum
    )
    cols += [
        e.time - first,
        count,
        misses,
        np.where(count > 0, misses / np.maximum(count, 1), 0.0),
        np.where(np.isfinite(worst_all), np.minimum(worst_all, 0.0), 0.0),
        np.where(np.isnan(last_miss_all), FAR, e.time - last_miss_all),
        last_gap,
        _cum_by_group(text, starts, n),
        _cum_by_group(neg, starts, n),
        np.where(np.isfinite(sent), sent, np.nan),
        np.where(np.isfinite(risk), risk, np.nan),
        (_cum_by_group(e.complaint.astype(np.float64), starts, n) > 0).astype(np.float64),
        (_cum_by_group(e.cancel.astype(np.float64), starts, n) > 0).astype(np.float64),
    ]
    names += list(OVERALL)
    x = np.column_stack([np.asarray(c, dtype=np.float64) for c in cols]) if n else np.zeros((0, len(names)))
    feats = Features(x, tuple(names), np.zeros(len(names), dtype=bool), tuple(() for _ in names))
    return Snapshots(e.customer, e.time, feats, known)


def _last_value(values: Floats, starts: Ints, n: int) -> Floats:
    """The last non-NaN value up to each row within the customer (NaN before the first)."""
    idx = np.where(np.isnan(values), -1, np.arange(n))
    last = _acc_by_group(idx.astype(np.float64), starts, n, np.maximum).astype(np.int64)
    out: Floats = np.where(last >= 0, values[np.maximum(last, 0)], np.nan)
    return out


def _take(e: JourneyEvents, order: Ints) -> JourneyEvents:
    return JourneyEvents(*(getattr(e, f)[order] for f in JourneyEvents.__dataclass_fields__))
