"""g chart: the number of experiences between consecutive misses, many streams.

Kaminsky, Benneyan, Davis & Burke (1992), "Statistical control charts based on a geometric
distribution", JQT 24(2):63-69; Benneyan (2001), "Number-between g-type statistical quality
control charts for monitoring adverse events", Health Care Management Science 4:305-318.
With ḡ the baseline mean count between misses, the geometric SD is sqrt(ḡ(ḡ + 1)); limits
ḡ ± L·sqrt(ḡ(ḡ + 1)), clipped at 0 (``limits="sigma"``), or the geometric quantiles with
the normal-theory tail probability Φ(-L) on each side (``limits="probability"``, honest
false-alarm rate for a skewed distribution).  Short gaps (more frequent misses) fall below
the LCL only when ḡ is large; prefer the Bernoulli CUSUM for fast detection of increases.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from gapwatch.detectors.base import ChartResult, FloatArray, as_matrix, baseline_mask, per_point
from gapwatch.stats.distributions import norm_sf

__all__ = ["GChart", "between_counts"]


def between_counts(events: ArrayLike) -> list[int]:
    """Experiences met between consecutive misses of one 0/1 sequence (one value per miss)."""
    out, run = [], 0
    for e in np.asarray(events, dtype=float):
        if e == 1:
            out.append(run)
            run = 0
        elif e == 0:
            run += 1
    return out


class GChart:
    """g chart over many streams: ``values`` (S, T) counts between misses (NaN: none).

    Examples
    --------
    >>> res = GChart().fit_judge([40, 55, 32, 60, 48, 51, 300], baseline=6)
    >>> res.signal_list()
    [(6, 'g')]
    """

    def __init__(self, L: float = 3.0, limits: Literal["sigma", "probability"] = "sigma") -> None:
        if limits not in ("sigma", "probability"):
            raise ValueError("limits must be sigma|probability")
        self.L, self.limits = L, limits
        self._gbar = np.empty(0)
        self._baseline = np.empty((0, 0), dtype=bool)

    def __repr__(self) -> str:
        return f"GChart(L={self.L}, limits={self.limits!r})"

    def fit(
        self, values: ArrayLike, baseline: ArrayLike | int | None = None, exclude: ArrayLike | None = None
    ) -> GChart:
        """ḡ per stream from the baseline."""
        x = as_matrix(values)
        if np.any(x[~np.isnan(x)] < 0):
            raise ValueError("g values (experiences between misses) must not be negative")
        mask = baseline_mask(x.shape, baseline, exclude) & ~np.isnan(x)
        self._gbar = np.where(mask, x, 0.0).sum(axis=1) / np.where(mask.any(axis=1), mask.sum(axis=1), np.nan)
        self._baseline = mask
        return self

    def _limits(self) -> tuple[FloatArray, FloatArray]:
        g = self._gbar
        if self.limits == "sigma":
            sd = np.sqrt(g * (g + 1))
            return np.maximum(g - self.L * sd, 0.0), g + self.L * sd
        alpha = float(norm_sf(self.L))
        q = 1.0 / (g + 1.0)  # P(miss) per experience; P(G <= k) = 1 - (1 - q)^(k + 1)
        with np.errstate(divide="ignore"):
            lo = np.maximum(np.ceil(np.log1p(-alpha) / np.log1p(-q) - 1.0), 0.0)
            hi = np.ceil(math.log(alpha) / np.log1p(-q) - 1.0)
        return lo, hi

    def judge(self, values: ArrayLike) -> ChartResult:
        """Gaps between misses against the fitted limits (rule ``g``, either side)."""
        x = as_matrix(values)
        s, _ = x.shape
        obs = ~np.isnan(x)
        lo, hi = self._limits()
        missing = ~obs
        lcl, ucl = per_point(lo, x, missing), per_point(hi, x, missing)
        base = self._baseline if self._baseline.shape == x.shape else np.zeros(x.shape, dtype=bool)
        return ChartResult(
            chart=np.array(["g"] * s),
            center=per_point(self._gbar, x, missing),
            lcl=lcl,
            ucl=ucl,
            statistic=x,
            signals={"g": np.asarray((x > ucl) | (x < lcl), dtype=bool)},
            sigma=np.full(s, np.nan),
            baseline=base,
            reason=[f"g chart on experiences between misses ({self.limits} limits)"] * s,
        )

    def fit_judge(
        self, values: ArrayLike, baseline: ArrayLike | int | None = None, exclude: ArrayLike | None = None
    ) -> ChartResult:
        """``fit`` then ``judge`` the same data."""
        return self.fit(values, baseline, exclude).judge(values)
