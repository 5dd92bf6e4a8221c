"""Individuals and moving-range (I-MR) chart over many streams.

Montgomery, *Introduction to Statistical Quality Control*, §6.4: σ̂ = MR̄/d2(2), limits
x̄ ± L·σ̂; the MR chart has centre MR̄ and limits MR̄·(1 ± L·d3(2)/d2(2)) (D4 = 3.267 for
L = 3, lower limit 0).  ``mr="screened"`` drops moving ranges >= D4·MR̄ before averaging
(Nelson 1982).  Prefer an EWMA for small shifts, a Laney chart for counts with large n.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from gapwatch.detectors.base import (
    BoolArray,
    ChartResult,
    FloatArray,
    as_matrix,
    baseline_mask,
    per_point,
    per_stream,
)
from gapwatch.detectors.estimate import MRConvention, compact, moving_ranges, mr_bar, revise_baseline
from gapwatch.detectors.rules import evaluate_rules, parse_rules
from gapwatch.stats.constants import Constants, d2, d3

__all__ = ["IMRChart", "observed_moving_ranges"]


def observed_moving_ranges(x: FloatArray, missing: BoolArray | None = None) -> FloatArray:
    """|x_t - x_prev| between consecutive observed points; NaN at the first point and gaps."""
    mr = moving_ranges(x)
    missing = np.isnan(x) if missing is None else missing
    if not missing.any():
        return mr
    obs = ~missing
    starts = obs.copy()
    starts[:, 1:] &= ~obs[:, :-1]  # a point right after a gap: its range spans the gap
    rows = np.flatnonzero(np.count_nonzero(starts, axis=1) > 1)
    if rows.size:
        sub = obs[rows]
        ranges = moving_ranges(compact(x[rows], sub))
        back = np.full(sub.shape, np.nan)
        back[sub] = ranges[np.arange(sub.shape[1]) < sub.sum(axis=1)[:, None]]
        mr[rows] = back
    return mr


class IMRChart:
    """Individuals chart with its moving-range companion (``result.dispersion``).

    Examples
    --------
    >>> res = IMRChart().fit_judge([10.0, 10.4, 9.8, 10.1, 9.9, 13.0])
    >>> res.signal_list()
    [(5, 'we1')]
    """

    def __init__(
        self,
        L: float = 3.0,
        rules: str | tuple[str, ...] = "we1",
        revise: bool = False,
        mr: MRConvention = "plain",
        constants: Constants = "exact",
    ) -> None:
        if not L > 0:
            raise ValueError(f"L must be positive, got {L}")
        self.L, self.rules, self.revise, self.mr, self.constants = L, rules, revise, mr, constants
        self._rules = parse_rules(rules)
        self._mu = np.empty(0)
        self._sigma = np.empty(0)
        self._baseline = np.empty((0, 0), dtype=bool)

    def __repr__(self) -> str:
        return (
            f"IMRChart(L={self.L}, rules={self.rules!r}, revise={self.revise}, "
            f"mr={self.mr!r}, constants={self.constants!r})"
        )

    def _estimate(self, x: FloatArray, mask: BoolArray) -> tuple[FloatArray, FloatArray]:
        cnt = mask.sum(axis=1)
        total = (x if mask.all() else np.where(mask, x, 0.0)).sum(axis=1)
        mu = np.where(cnt > 0, total / np.maximum(cnt, 1), np.nan)
        sigma = mr_bar(x, mask, self.mr, self.constants) / d2(2, self.constants)
        return mu, sigma

    def fit(
        self,
        values: ArrayLike,
        baseline: ArrayLike | int | None = None,
        exclude: ArrayLike | None = None,
        target: ArrayLike | None = None,
        sigma: ArrayLike | None = None,
    ) -> IMRChart:
        """Centre (mean) and sigma (MR̄/d2) per stream from the baseline, unless given."""
        self._fit(as_matrix(values), baseline, exclude, target, sigma)
        return self

    def _fit(
        self,
        x: FloatArray,
        baseline: ArrayLike | int | None,
        exclude: ArrayLike | None,
        target: ArrayLike | None,
        sigma: ArrayLike | None,
    ) -> None:
        mask = baseline_mask(x.shape, baseline, exclude) & ~np.isnan(x)
        s = x.shape[0]
        tgt, sig = per_stream(target, s), per_stream(sigma, s)

        def beyond(m: BoolArray) -> BoolArray:
            mu, sd = self._estimate(x, m)
            mu, sd = np.where(np.isnan(tgt), mu, tgt), np.where(np.isnan(sig), sd, sig)
            dev = np.abs(x - mu[:, None])
            return np.asarray(dev > self.L * sd[:, None], dtype=bool)

        if self.revise:
            mask = revise_baseline(mask, beyond)
        mu, sd = self._estimate(x, mask)
        self._mu = np.where(np.isnan(tgt), mu, tgt)
        self._sigma = np.where(np.isnan(sig), sd, sig)
        self._baseline = mask

    def judge(self, values: ArrayLike) -> ChartResult:
        """I and MR charts of ``values`` (S, T) against the fitted limits."""
        if self._mu.size == 0:
            raise RuntimeError("fit the chart first")
        return self._judge(as_matrix(values))

    def _judge(self, x: FloatArray) -> ChartResult:
        s, t = x.shape
        missing = np.isnan(x)
        center, se = per_point(self._mu, x, missing), per_point(self._sigma, x, missing)
        half = self.L * se
        lcl, ucl = center - half, np.add(center, half, out=half)
        base = self._baseline if self._baseline.shape == x.shape else np.zeros(x.shape, dtype=bool)
        mrs = observed_moving_ranges(x, missing)
        k2, k3 = d2(2, self.constants), d3(2, self.constants)
        mr_c = np.repeat((k2 * self._sigma)[:, None], t, axis=1)  # NaN where there is no range
        mr_c[:, :1] = np.nan
        no_range = np.isnan(mrs)
        if no_range[:, 1:].any():
            mr_c[no_range] = np.nan
        mr_lcl = mr_c - np.repeat((self.L * k3 * self._sigma)[:, None], t, axis=1)
        np.maximum(mr_lcl, 0.0, out=mr_lcl)
        # the tabulated D4(2) = 3.267 when tables are asked for (Montgomery, Appendix VI)
        d4 = 3.267 if (self.constants == "table" and self.L == 3.0) else 1.0 + self.L * k3 / k2
        mr_ucl = mr_c * d4
        disp = ChartResult(
            chart=np.full(s, "mr"),
            center=mr_c,
            lcl=mr_lcl,
            ucl=mr_ucl,
            statistic=mrs,
            signals={"we1": np.asarray(mrs > mr_ucl, dtype=bool)},
            sigma=self._sigma.copy(),
            baseline=base,
        )
        return ChartResult(
            chart=np.full(s, "imr"),
            center=center,
            lcl=lcl,
            ucl=ucl,
            statistic=x,
            signals=evaluate_rules(x, center, se, lcl, ucl, self._rules),
            sigma=self._sigma.copy(),
            baseline=base,
            extra={"se": se},
            dispersion=disp,
            reason=[f"I-MR chart, sigma = MR̄/d2(2) ({self.mr} moving ranges)"] * s,
        )

    def fit_judge(
        self,
        values: ArrayLike,
        baseline: ArrayLike | int | None = None,
        exclude: ArrayLike | None = None,
        target: ArrayLike | None = None,
        sigma: ArrayLike | None = None,
    ) -> ChartResult:
        """``fit`` then ``judge`` the same data."""
        x = as_matrix(values)
        self._fit(x, baseline, exclude, target, sigma)
        return self._judge(x)
