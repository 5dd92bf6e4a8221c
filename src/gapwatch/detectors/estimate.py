"""Phase-I estimation helpers shared by the charts: moving ranges and revision.

Moving ranges come in two conventions: plain (the mean of all moving ranges of span 2,
as in R's qcc and Laney 2002) and screened (Nelson 1982, "Control charts for individual
measurements", JQT 14(3): moving ranges at or above D4(2)·MR̄ = 3.267·MR̄ are dropped and
MR̄ recomputed once; qicharts2's default).  Moving ranges are taken between consecutive
*baseline* points of a stream, so excluded and missing points do not create spurious ranges.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np

from gapwatch.detectors.base import BoolArray, FloatArray
from gapwatch.stats.constants import Constants, d2, d3

__all__ = ["MRConvention", "compact", "is_prefix", "moving_ranges", "mr_bar", "revise_baseline"]

MRConvention = Literal["plain", "screened"]


def is_prefix(mask: BoolArray) -> bool:
    """Whether every row of ``mask`` is True up to some column and False after it."""
    return not np.any(mask[:, 1:] & ~mask[:, :-1])


def compact(values: FloatArray, mask: BoolArray) -> FloatArray:
    """Each stream's masked values moved to the front (in order), NaN after them."""
    if is_prefix(mask):
        return np.where(mask, values, np.nan)
    out = np.full(values.shape, np.nan)
    out[np.arange(values.shape[1]) < np.count_nonzero(mask, axis=1)[:, None]] = values[mask]
    return out


def moving_ranges(values: FloatArray) -> FloatArray:
    """|x_t - x_{t-1}| with NaN first (one value per point), shape (S, T)."""
    mr = np.empty(values.shape)
    flat, src = mr.reshape(-1), np.ascontiguousarray(values).reshape(-1)
    # one contiguous difference over all streams; the first column (which spans two
    # streams) is then set to NaN
    np.subtract(src[1:], src[:-1], out=flat[1:])
    mr[:, :1] = np.nan
    np.abs(mr, out=mr)
    return mr


def d4_2(constants: Constants) -> float:
    """D4 for span-2 moving ranges: 1 + 3·d3(2)/d2(2) (3.267 as tabulated)."""
    return 3.267 if constants == "table" else 1.0 + 3.0 * d3(2) / d2(2)


def _masked_mean(ranges: FloatArray, keep: BoolArray) -> FloatArray:
    cnt = keep.sum(axis=1)
    total = np.where(keep, ranges, 0.0).sum(axis=1)
    return np.asarray(np.where(cnt > 0, total / np.maximum(cnt, 1), np.nan), dtype=float)


def mr_bar(
    values: FloatArray, mask: BoolArray, mr: MRConvention = "plain", constants: Constants = "exact"
) -> FloatArray:
    """Mean moving range per stream over consecutive baseline points (NaN if < 2 points)."""
    ranges = moving_ranges(values if mask.all() else compact(values, mask))
    if mr == "plain" and ranges.shape[1] > 1:
        ranges[:, 0] = 0.0  # the first (NaN) slot as 0, as the masked sum has it
        if not np.isnan(ranges).any():  # every range counts
            return np.asarray(ranges.sum(axis=1) / (ranges.shape[1] - 1), dtype=float)
        ranges[:, 0] = np.nan
    ok = ~np.isnan(ranges)
    mean = _masked_mean(ranges, ok)
    if mr == "screened":
        mean = _masked_mean(ranges, ok & (ranges < d4_2(constants) * mean[:, None]))
    return mean


def revise_baseline(
    mask: BoolArray, out_of_control: Callable[[BoolArray], BoolArray], max_iter: int = 100
) -> BoolArray:
    """Drop baseline points flagged out of control and re-estimate until stable.

    ``out_of_control(mask)`` estimates limits from ``mask`` and returns the flagged points;
    flagged baseline points leave the mask, for every stream at once, until no stream changes
    (Montgomery, *Introduction to SQC*, "revised control limits").  A stream is never
    reduced below two baseline points.
    """
    current = mask.copy()
    for _ in range(max_iter):
        flagged = out_of_control(current) & current
        new = current & ~flagged
        keep = new.sum(axis=1) >= 2
        new = np.where(keep[:, None], new, current)
        if np.array_equal(new, current):
            break
        current = new
    return current
