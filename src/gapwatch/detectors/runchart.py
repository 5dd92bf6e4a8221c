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

from gapwatch.detectors.base import BoolArray, ChartResult, FloatArray, as_matrix, baseline_mask
from gapwatch.detectors.estimate import compact
from gapwatch.stats.distributions import qbinom

__all__ = ["RunChart", "anhoej"]


def anhoej(
    statistic: FloatArray, center: FloatArray, include: BoolArray | None = None
) -> dict[str, NDArray[Any]]:
    """Anhøj's runs analysis per stream (arrays of shape (S,)).

    Returns ``n_useful``, ``longest_run``, ``longest_run_max``, ``n_crossings``,
    ``n_crossings_min`` and ``signal`` (bool).
    """
    x = as_matrix(statistic)
    c = np.broadcast_to(np.asarray(center, dtype=float), x.shape)
    side = np.sign(x - c)
    useful = ~np.isnan(side) & (side != 0)
    if include is not None:
        useful &= include
    packed = compact(side, useful)
    n = useful.sum(axis=1)
    same = packed[:, 1:] == packed[:, :-1]
    idx = np.arange(same.shape[1])
    last_break = np.maximum.accumulate(np.where(same, -1, idx), axis=1)
    runs = idx - last_break + 1 if same.size else np.ones((x.shape[0], 0))
    longest = np.where(n > 0, np.max(runs, axis=1, initial=1), 0)
    crossings = (packed[:, 1:] == -packed[:, :-1]).sum(axis=1)
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
        x = as_matrix(values)
        mask = baseline_mask(x.shape, baseline, exclude) & ~np.isnan(x)
        with np.errstate(all="ignore"):
            self._median = np.array(
                [np.median(row[m]) if m.any() else np.nan for row, m in zip(x, mask, strict=True)]
            )
        self._baseline = mask
        return self

    def judge(self, values: ArrayLike, exclude: ArrayLike | None = None) -> ChartResult:
        """Runs analysis of ``values`` around the fitted median (excluded points not useful)."""
        x = as_matrix(values)
        s, t = x.shape
        include = baseline_mask(x.shape, None, exclude)
        center = np.where(np.isnan(x), np.nan, self._median[:, None])
        base = self._baseline if self._baseline.shape == x.shape else np.zeros(x.shape, dtype=bool)
        return ChartResult(
            chart=np.array(["run"] * s),
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
        return self.fit(values, baseline, exclude).judge(values, exclude)
