"""Run charts and Anhøj's runs analysis, many streams at once.

Anhøj & Olesen (2014), "Run charts revisited: a simulation study of run chart rules for
detection of non-random variation in health care processes", PLoS ONE 9(11):e113825;
Anhøj (2015), PLoS ONE 10(3):e0121349.  Points on the centre line (and excluded or missing
points) are not useful.  Over the n useful points: the longest run on one side of the
centre signals when it exceeds round(log2(n)) + 3; the number of crossings signals when
it is below the 5 % quantile of Binomial(n - 1, 0.5).  The run chart's centre is the
median of its baseline.  Prefer it when no sigma can be trusted (few points, skewed data).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gapwatch.detectors.base import BoolArray, ChartResult, FloatArray, as_matrix, baseline_mask, per_point
from gapwatch.stats.distributions import qbinom

__all__ = ["RunChart", "anhoej"]


def anhoej(
    statistic: FloatArray, center: FloatArray, include: BoolArray | None = None
) -> dict[str, NDArray[Any]]:
    """Anhøj's runs analysis per stream (arrays of shape (S,)).

    Returns ``n_useful``, ``longest_run``, ``longest_run_max``, ``n_crossings``,
    ``n_crossings_min`` and ``signal`` (bool).
    """
    x = np.asarray(statistic, dtype=float)
    x = x[None, :] if x.ndim == 1 else x
    s = x.shape[0]
    c = np.broadcast_to(np.asarray(center, dtype=float), x.shape)
    above = x > c  # NaN and points on the centre line are on neither side: not useful
    useful = above | (x < c)
    if include is not None:
        useful &= include
    # the useful points' sides, stream after stream (row-major), and where each stream starts
    seq = above[useful]
    n = np.count_nonzero(useful, axis=1)
    has = n > 0
    ends = np.cumsum(n)
    first = ends - n
    change = seq[1:] != seq[:-1]  # a crossing, except from one stream's last point to the next's first
    change[ends[has][:-1] - 1] = False
    before = np.zeros(seq.size, dtype=np.int64)  # crossings before each point
    np.cumsum(change, out=before[1:])
    crossings = np.zeros(s, dtype=np.int64)
    crossings[has] = before[ends[has] - 1] - before[first[has]]
    # runs: a new run starts at each stream's first point and after each crossing
    starts = np.zeros(seq.size, dtype=bool)
    starts[first[has]] = True
    starts[1:] |= change
    begin = np.flatnonzero(starts)
    lengths = np.diff(np.append(begin, seq.size))
    longest = np.zeros(s, dtype=np.int64)
    if begin.size:
        run_first = np.searchsorted(begin, first[has])  # first run of each stream with points
        longest[has] = np.maximum.reduceat(lengths, run_first)
    with np.errstate(divide="ignore"):
        run_max = np.where(n > 0, np.round(np.log2(np.maximum(n, 1))) + 3, 0).astype(int)
    cross_min = np.where(n > 1, qbinom(0.05, np.maximum(n - 1, 0)), 0)
    signal = (n > 0) & ((longest > run_max) | (crossings < cross_min))
    return {
        "n_useful": n.astype(int),
        "longest_run": longest.astype(int),
        "longest_run_max": run_max,
        "n_crossings": crossings.astype(int),
        "n_crossings_min": cross_min.astype(int),
        "signal": signal.astype(bool),
    }


def _row_medians(x: FloatArray, mask: BoolArray) -> FloatArray:
    """Median of each row's masked values (NaN for a row without any), as ``np.median`` gives it."""
    t = x.shape[1]
    if mask.all():  # one selection per row (np.median selects twice, to find NaNs)
        if t == 0:
            return np.full(x.shape[0], np.nan)
        part = np.partition(x, t // 2, axis=1)
        hi = part[:, t // 2]
        if t % 2:
            return np.asarray(hi, dtype=float)
        return np.asarray((part[:, : t // 2].max(axis=1) + hi) / 2, dtype=float)
    n = np.count_nonzero(mask, axis=1)
    ordered = np.sort(np.where(mask, x, np.inf), axis=1)  # masked values first, in order
    rows = np.arange(x.shape[0])
    lo = ordered[rows, np.maximum(n - 1, 0) // 2]
    hi = ordered[rows, np.maximum(n, 1) // 2 - (n == 0)]
    with np.errstate(invalid="ignore"):  # np.median of an even count: the middle pair's mean
        return np.where(n > 0, np.where(n % 2 == 1, lo, (lo + hi) / 2), np.nan)


class RunChart:
    """Run chart: the data around their baseline median, judged by Anhøj's rules.

    Examples
    --------
    >>> res = RunChart().fit_judge([1, 2, 1, 2, 1, 2, 5, 6, 5, 6, 7, 6, 5, 6, 7, 8])
    >>> res.runs["signal"].tolist(), int(res.runs["longest_run"][0])
    ([True], 7)
    """

    def __init__(self) -> None:
        self._median = np.empty(0)
        self._baseline = np.empty((0, 0), dtype=bool)

    def __repr__(self) -> str:
        return "RunChart()"

    def fit(
        self, values: ArrayLike, baseline: ArrayLike | int | None = None, exclude: ArrayLike | None = None
    ) -> RunChart:
        """Median of the baseline points per stream."""
        self._fit(as_matrix(values), baseline, exclude)
        return self

    def _fit(self, x: FloatArray, baseline: ArrayLike | int | None, exclude: ArrayLike | None) -> None:
        mask = baseline_mask(x.shape, baseline, exclude) & ~np.isnan(x)
        self._median = _row_medians(x, mask)
        self._baseline = mask

    def judge(self, values: ArrayLike, exclude: ArrayLike | None = None) -> ChartResult:
        """Runs analysis of ``values`` around the fitted median (excluded points not useful)."""
        return self._judge(as_matrix(values), exclude)

    def _judge(self, x: FloatArray, exclude: ArrayLike | None) -> ChartResult:
        s, t = x.shape
        include = None if exclude is None else baseline_mask(x.shape, None, exclude)
        center = per_point(self._median, x)
        base = self._baseline if self._baseline.shape == x.shape else np.zeros(x.shape, dtype=bool)
        return ChartResult(
            chart=np.full(s, "run"),
            center=center,
            lcl=np.full((s, t), np.nan),
            ucl=np.full((s, t), np.nan),
            statistic=x,
            signals={},
            sigma=np.full(s, np.nan),
            baseline=base,
            runs=anhoej(x, center, include),
            reason=["run chart with Anhøj's rules"] * s,
        )

    def fit_judge(
        self, values: ArrayLike, baseline: ArrayLike | int | None = None, exclude: ArrayLike | None = None
    ) -> ChartResult:
        """``fit`` then ``judge`` the same data."""
        x = as_matrix(values)
        self._fit(x, baseline, exclude)
        return self._judge(x, exclude)
