"""Tabular (two-sided) CUSUM with optional fast initial response, many streams.

Page (1954); Montgomery, *Introduction to Statistical Quality Control*, §9.1; Lucas &
Crosier (1982, Technometrics 24(3):199-205) for the head start.  On standardised points
y_t = (x_t - μ0)/σ_x:  C⁺_t = max(0, C⁺_{t-1} + y_t - k),  C⁻_t = max(0, C⁻_{t-1} - y_t - k),
a signal when a sum exceeds h (strictly), in σ units of the plotted statistic.  k = 0.5,
h = 5 gives ARL₀ ≈ 465 (two-sided) and detects a 1σ shift in ≈ 10 points; ``fir`` starts
both sums at that value (h/2 is customary) so an initially shifted process is caught fast.
Prefer CUSUM to EWMA when the shift to detect is known (k = δ/2), to Shewhart for shifts
under 1.5σ.  The chart does not restart after a signal (as printed tables show it);
``reset=True`` restarts a side at 0 after it signals, as a live monitor would.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from gapwatch.detectors.base import ChartResult, FloatArray, as_matrix, baseline_mask, per_point, per_stream
from gapwatch.detectors.estimate import MRConvention, mr_bar
from gapwatch.stats.constants import Constants, d2

__all__ = ["CUSUM"]


class CUSUM:
    """Two-sided tabular CUSUM (``statistic`` C⁺, ``extra["statistic_lower"]`` C⁻).

    Examples
    --------
    >>> res = CUSUM(k=0.5, h=4.0).fit_judge([0.2, -0.1, 1.5, 1.8, 1.2, 1.6], target=0.0, sigma=1.0)
    >>> res.signal_list()
    [(5, 'cusum-upper')]
    """

    def __init__(
        self,
        k: float = 0.5,
        h: float = 5.0,
        fir: float = 0.0,
        reset: bool = False,
        mr: MRConvention = "plain",
        constants: Constants = "exact",
    ) -> None:
        if k < 0 or not h > 0 or not 0 <= fir < h:
            raise ValueError("need k >= 0, h > 0 and 0 <= fir < h")
        self.k, self.h, self.fir, self.reset, self.mr, self.constants = k, h, fir, reset, mr, constants
        self._mu = np.empty(0)
        self._sigma = np.empty(0)
        self._baseline = np.empty((0, 0), dtype=bool)
        self._cp = np.empty(0)
        self._cm = np.empty(0)

    def __repr__(self) -> str:
        return f"CUSUM(k={self.k}, h={self.h}, fir={self.fir}, reset={self.reset})"

    def fit(
        self,
        values: ArrayLike,
        n: ArrayLike | None = None,
        baseline: ArrayLike | int | None = None,
        exclude: ArrayLike | None = None,
        target: ArrayLike | None = None,
        sigma: ArrayLike | None = None,
    ) -> CUSUM:
        """μ0 and σ (of one observation) per stream: given, else baseline mean and MR̄/d2."""
        self._fit(*self._prepare(values, n), baseline, exclude, target, sigma)
        return self

    @staticmethod
    def _prepare(values: ArrayLike, n: ArrayLike | None) -> tuple[FloatArray, FloatArray | None]:
        x = as_matrix(values, copy=False)  # read only
        return x, None if n is None else np.broadcast_to(as_matrix(n), x.shape).astype(float)

    def _fit(
        self,
        x: FloatArray,
        cnt: FloatArray | None,
        baseline: ArrayLike | int | None,
        exclude: ArrayLike | None,
        target: ArrayLike | None,
        sigma: ArrayLike | None,
    ) -> None:
        mask = baseline_mask(x.shape, baseline, exclude) & ~np.isnan(x)
        s = x.shape[0]
        tgt, sig = per_stream(target, s), per_stream(sigma, s)
        self._mu, self._sigma = tgt, sig
        if np.isnan(tgt).any():  # estimates only where no value is given
            ones = np.ones(x.shape) if cnt is None else cnt
            w = np.where(mask, ones, 0.0).sum(axis=1)
            mu = np.where(mask, x * ones, 0.0).sum(axis=1) / np.where(w > 0, w, np.nan)
            self._mu = np.where(np.isnan(tgt), mu, tgt)
        if np.isnan(sig).any():
            with np.errstate(invalid="ignore"):
                scaled = x if cnt is None else x * np.sqrt(cnt)
                sd = mr_bar(scaled, mask, self.mr, self.constants) / d2(2, self.constants)
            self._sigma = np.where(np.isnan(sig), sd, sig)
        self._baseline = mask
        self._cp, self._cm = np.full(s, self.fir), np.full(s, self.fir)

    def _run(self, x: FloatArray, cnt: FloatArray | None, cp: FloatArray, cm: FloatArray) -> ChartResult:
        if self._mu.size == 0:
            raise RuntimeError("fit the chart first")
        s, t = x.shape
        with np.errstate(invalid="ignore", divide="ignore"):
            y = x - np.repeat(self._mu[:, None], t, axis=1)  # standardised points, in place
            if cnt is not None:
                y *= np.sqrt(cnt)
            y /= np.repeat(self._sigma[:, None], t, axis=1)
        missing = np.isnan(y)
        gaps = np.asarray(missing.any(axis=0), dtype=bool)
        # both sums as one (2, S) state per period, period-major so each step reads and writes
        # contiguous rows: C+ = max(0, C+ + y - k) and C- = max(0, C- + (-y) - k); arrays are
        # (2, T, S) so that each sum's (T, S) block transposes back from contiguous memory
        steps = np.empty((2, t, s))
        steps[0] = y.T
        np.negative(steps[0], out=steps[1])
        miss_t = np.ascontiguousarray(missing.T) if gaps.any() else None
        sums = np.empty_like(steps)
        state = np.stack([cp, cm])
        k, has_gap = self.k, gaps.tolist()
        for j in range(t):
            row = np.add(state, steps[:, j], out=sums[:, j])
            row -= k
            np.maximum(0.0, row, out=row)
            if has_gap[j]:  # a missing point leaves both sums as they were
                assert miss_t is not None
                np.copyto(row, state, where=miss_t[j])
            state = row
            if self.reset:
                state = np.where(row > self.h, 0.0, row)
        self._cp, self._cm = state[0].copy(), state[1].copy()
        up_all, lo_all = sums[0].T.copy(), sums[1].T.copy()
        if gaps.any():
            up_all[missing] = np.nan
            lo_all[missing] = np.nan
        base = self._baseline if self._baseline.shape == x.shape else np.zeros(x.shape, dtype=bool)
        return ChartResult(
            chart=np.full(s, "cusum"),
            center=per_point(np.zeros(s), y, missing),
            lcl=np.full((s, t), np.nan),
            ucl=per_point(np.full(s, float(self.h)), y, missing),
            statistic=up_all,
            signals={"cusum-upper": np.asarray(up_all > self.h), "cusum-lower": np.asarray(lo_all > self.h)},
            sigma=self._sigma.copy(),
            baseline=base,
            extra={"statistic_lower": lo_all},
            reason=[f"tabular CUSUM k={self.k}, h={self.h}" + (f", FIR {self.fir}" if self.fir else "")] * s,
        )

    def judge(self, values: ArrayLike, n: ArrayLike | None = None) -> ChartResult:
        """Run both sums from the head start over ``values`` (S, T)."""
        s = self._mu.size
        return self._run(*self._prepare(values, n), np.full(s, self.fir), np.full(s, self.fir))

    def fit_judge(
        self,
        values: ArrayLike,
        n: ArrayLike | None = None,
        baseline: ArrayLike | int | None = None,
        exclude: ArrayLike | None = None,
        target: ArrayLike | None = None,
        sigma: ArrayLike | None = None,
    ) -> ChartResult:
        """``fit`` then ``judge`` the same data."""
        x, cnt = self._prepare(values, n)
        self._fit(x, cnt, baseline, exclude, target, sigma)
        return self._run(x, cnt, np.full(x.shape[0], self.fir), np.full(x.shape[0], self.fir))

    def update(self, values: ArrayLike, n: ArrayLike | None = None) -> ChartResult:
        """Advance every stream by one closed period (arrays (S,)); NaN: no data."""
        x = np.asarray(values, dtype=float).reshape(-1, 1)
        cnt = None if n is None else np.asarray(n, dtype=float).reshape(-1, 1)
        return self._run(*self._prepare(x, cnt), self._cp, self._cm)
