"""Individuals and moving-range (I-MR) chart over many streams.

Montgomery, *Introduction to Statistical Quality Control*, §6.4: σ̂ = MR̄/d2(2), limits
x̄ ± L·σ̂; the MR chart has centre MR̄ and limits MR̄·(1 ± L·d3(2)/d2(2)) (D4 = 3.267 for
L = 3, lower limit 0).  ``mr="screened"`` drops moving ranges >= D4·MR̄ before averaging
(Nelson 1982).  Prefer an EWMA for small shifts, a Laney chart for counts with large n.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from gapwatch.detectors.base import BoolArray, ChartResult, FloatArray, as_matrix, baseline_mask, per_stream
from gapwatch.detectors.estimate import MRConvention, compact, mr_bar, revise_baseline
from gapwatch.detectors.rules import evaluate_rules, parse_rules
from gapwatch.stats.constants import Constants, d2, d3

__all__ = ["IMRChart", "observed_moving_ranges"]


def observed_moving_ranges(x: FloatArray) -> FloatArray:
    """|x_t - x_prev| between consecutive observed points; NaN at the first point and gaps."""
    obs = ~np.isnan(x)
    order = np.argsort(~obs, axis=1, kind="stable")
    packed = compact(x, obs)
    mr = np.full(x.shape, np.nan)
    mr[:, 1:] = np.abs(np.diff(packed, axis=1))
    out = np.full(x.shape, np.nan)
    np.put_along_axis(out, order, mr, axis=1)
    return np.where(obs, out, np.nan)


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
        mu = np.where(cnt > 0, np.where(mask, x, 0.0).sum(axis=1) / np.maximum(cnt, 1), np.nan)
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
        x = as_matrix(values)
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
        return self

    def judge(self, values: ArrayLike) -> ChartResult:
        """I and MR charts of ``values`` (S, T) against the fitted limits."""
        if self._mu.size == 0:
            raise RuntimeError("fit the chart first")
        x = as_matrix(values)
        obs = ~np.isnan(x)
        s = x.shape[0]
        center = np.where(obs, self._mu[:, None], np.nan)
        se = np.where(obs, self._sigma[:, None], np.nan)
        lcl, ucl = center - self.L * se, center + self.L * se
        base = self._baseline if self._baseline.shape == x.shape else np.zeros(x.shape, dtype=bool)
        mrs = observed_moving_ranges(x)
        k2, k3 = d2(2, self.constants), d3(2, self.constants)
        has_mr = ~np.isnan(mrs)
        mr_c = np.where(has_mr, (k2 * self._sigma)[:, None], np.nan)
        mr_lcl = np.maximum(mr_c - self.L * k3 * self._sigma[:, None], 0.0)
        # the tabulated D4(2) = 3.267 when tables are asked for (Montgomery, Appendix VI)
        d4 = 3.267 if (self.constants == "table" and self.L == 3.0) else 1.0 + self.L * k3 / k2
        mr_ucl = mr_c * d4
        disp = ChartResult(
            chart=np.array(["mr"] * s),
            center=mr_c,
            lcl=mr_lcl,
            ucl=mr_ucl,
            statistic=mrs,
            signals={"we1": np.asarray(mrs > mr_ucl, dtype=bool)},
            sigma=self._sigma.copy(),
            baseline=base,
        )
        return ChartResult(
            chart=np.array(["imr"] * s),
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
        return self.fit(values, baseline, exclude, target, sigma).judge(values)
