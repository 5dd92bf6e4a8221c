"""The common core of attribute charts: p, np, c, u and Laney's p′ and u′.

Classic limits assume binomial (p, np) or Poisson (c, u) variation only.  With the large
samples of customer data, day-to-day variation in the true rate makes those limits far too
tight; Laney (2002, "Improved control charts for attributes", Quality Engineering
14(4):531-537) scales the within-sample standard error by sigma_z, the moving-range estimate
of the standard deviation of the standardised points z_i = (y_i - ȳ)/se_i:
limits ȳ ± L·se_i·sigma_z, with sigma_z = MR̄(z)/d2(2).

``laney="auto"`` switches per stream: Laney's chart is used when the baseline is
over-dispersed, judged by Pearson's dispersion statistic X² = Σ z_i² against chi-square
with m - 1 degrees of freedom (p-value below ``alpha``, default 0.01) *and* sigma_z > 1;
otherwise the classic chart.  The reason is stated in ``ChartResult.reason``.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
from numpy.typing import ArrayLike

from gapwatch.detectors.base import BoolArray, ChartResult, FloatArray, as_matrix, baseline_mask
from gapwatch.detectors.estimate import MRConvention, mr_bar, revise_baseline
from gapwatch.detectors.rules import RuleBuffer, evaluate_rules, parse_rules
from gapwatch.stats.constants import Constants, d2
from gapwatch.stats.distributions import chi2_sf

__all__ = ["AttributeChart"]

Laney = bool | Literal["auto"]


class AttributeChart:
    """Shared fit/judge/update logic; use the concrete classes (PChart, UChart, ...)."""

    kind: ClassVar[str] = "p"
    binomial: ClassVar[bool] = True
    per_unit: ClassVar[bool] = True  # statistic is count/size (p, u) rather than the count

    def __init__(
        self,
        L: float = 3.0,
        laney: Laney = False,
        rules: str | tuple[str, ...] = "we1",
        revise: bool = False,
        mr: MRConvention = "plain",
        constants: Constants = "exact",
        alpha: float = 0.01,
    ) -> None:
        if not L > 0:
            raise ValueError(f"L must be positive, got {L}")
        if laney not in (True, False, "auto"):
            raise ValueError(f"laney must be True, False or 'auto', got {laney!r}")
        if laney and not self.per_unit:
            raise ValueError(f"Laney's correction applies to p and u charts, not {self.kind}")
        if mr not in ("plain", "screened") or constants not in ("exact", "table"):
            raise ValueError("mr must be plain|screened and constants exact|table")
        self.L = L
        self.laney = laney
        self.rules = rules
        self.revise = revise
        self.mr = mr
        self.constants = constants
        self.alpha = alpha
        self._rules = parse_rules(rules)
        self._reset()

    def _reset(self) -> None:
        self._center = np.empty(0)
        self._factor = np.empty(0)
        self._sigma_z = np.empty(0)
        self._p_dispersion = np.empty(0)
        self._use_laney = np.empty(0, dtype=bool)
        self._baseline = np.empty((0, 0), dtype=bool)
        self._reason: list[str] = []
        self._buffer: RuleBuffer | None = None

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(L={self.L}, laney={self.laney!r}, rules={self.rules!r}, "
            f"revise={self.revise}, mr={self.mr!r}, constants={self.constants!r}, alpha={self.alpha})"
        )

    # ---------------------------------------------------------------- input
    def _prepare(self, counts: ArrayLike, sizes: ArrayLike | None) -> tuple[FloatArray, FloatArray]:
        x = as_matrix(counts, "counts")
        n = np.ones_like(x) if sizes is None or self.kind == "c" else as_matrix(sizes, "sizes")
        n = np.broadcast_to(n, x.shape).astype(float)
        n = np.where(np.isnan(x), np.nan, n)
        x = np.where(np.isnan(n) | (n == 0), np.nan, x)  # a period with no experiences has no point
        if np.any(x < 0):
            raise ValueError("counts must not be negative")
        if np.any(n < 0):
            raise ValueError("sizes must not be negative")
        if self.binomial and np.any(x > n):
            raise ValueError("a count is above its size")
        return x, n

    def _unit_var(self, rbar: FloatArray) -> FloatArray:
        return np.asarray(rbar * (1.0 - rbar) if self.binomial else rbar, dtype=float)

    # ---------------------------------------------------------------- estimation
    def _estimate(
        self, x: FloatArray, n: FloatArray, mask: BoolArray
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, BoolArray]:
        xs = np.where(mask, x, 0.0).sum(axis=1)
        ns = np.where(mask, n, 0.0).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            rbar = np.where(ns > 0, xs / ns, np.nan)
            se = np.sqrt(self._unit_var(rbar)[:, None] / n)
            z = np.where(se > 0, (x / n - rbar[:, None]) / se, np.nan)
        ok = mask & ~np.isnan(z)
        sigma_z = mr_bar(z, ok, self.mr, self.constants) / d2(2, self.constants)
        m = ok.sum(axis=1)
        p_disp = chi2_sf(np.where(ok, z * z, 0.0).sum(axis=1), m - 1)
        if self.laney == "auto":
            use = (p_disp < self.alpha) & (sigma_z > 1.0)
        else:
            use = np.full(x.shape[0], bool(self.laney)) & ~np.isnan(sigma_z)
        factor = np.asarray(np.where(use, sigma_z, 1.0), dtype=float)
        return np.asarray(rbar, dtype=float), factor, sigma_z, p_disp, np.asarray(use, dtype=bool)

    def _limits(
        self, x: FloatArray, n: FloatArray, rbar: FloatArray, factor: FloatArray
    ) -> tuple[FloatArray, ...]:
        scale = np.ones_like(n) if self.per_unit else n
        with np.errstate(divide="ignore", invalid="ignore"):
            stat = x / n * scale
            se = np.sqrt(self._unit_var(rbar)[:, None] / n) * factor[:, None] * scale
        center = np.where(np.isnan(n), np.nan, rbar[:, None] * scale)
        lcl = np.maximum(center - self.L * se, 0.0)
        ucl = center + self.L * se
        if self.binomial:
            ucl = np.minimum(ucl, scale)
        return stat, center, se, lcl, ucl

    def _beyond(self, x: FloatArray, n: FloatArray, mask: BoolArray) -> BoolArray:
        rbar, factor, *_ = self._estimate(x, n, mask)
        stat, _, _, lcl, ucl = self._limits(x, n, rbar, factor)
        return np.asarray((stat > ucl) | (stat < lcl), dtype=bool)

    # ---------------------------------------------------------------- public
    def fit(
        self,
        counts: ArrayLike,
        sizes: ArrayLike | None = None,
        baseline: ArrayLike | int | None = None,
        exclude: ArrayLike | None = None,
    ) -> AttributeChart:
        """Estimate centre line (and Laney's sigma_z) per stream from the baseline points.

        Parameters
        ----------
        counts, sizes : array (S, T)
            Events (misses, nonconformities) and sample sizes per stream and period; NaN or a
            size of 0 marks a period without a point.  ``sizes`` is ignored by the c chart.
        baseline : None, int or bool array
            Phase-I points: all (None), the first N periods (int) or a mask.
        exclude : indices or bool mask, optional
            Points left out of the estimate (still judged).
        """
        x, n = self._prepare(counts, sizes)
        mask = baseline_mask(x.shape, baseline, exclude) & ~np.isnan(x)
        if self.revise:
            mask = revise_baseline(mask, lambda m: self._beyond(x, n, m))
        rbar, factor, sigma_z, p_disp, use = self._estimate(x, n, mask)
        self._center, self._factor, self._sigma_z = rbar, factor, sigma_z
        self._p_dispersion, self._use_laney, self._baseline = p_disp, use, mask
        self._reason = [self._explain(i) for i in range(x.shape[0])]
        self._buffer = None
        return self

    def _name(self, use: bool) -> str:
        return f"{self.kind}prime" if use else self.kind

    def _explain(self, i: int) -> str:
        sz, p = self._sigma_z[i], self._p_dispersion[i]
        if self.laney != "auto":
            return f"{self._name(bool(self._use_laney[i]))} chart as configured"
        if self._use_laney[i]:
            return (
                f"Laney {self.kind}′: between-period variation is {sz:.2f}× the "
                f"{'binomial' if self.binomial else 'Poisson'} one (dispersion test p={p:.2g} < {self.alpha})"
            )
        return (
            f"{self.kind} chart: no over-dispersion in the baseline "
            f"(dispersion test p={p:.2g}, sigma_z={sz:.2f})"
        )

    def judge(self, counts: ArrayLike, sizes: ArrayLike | None = None) -> ChartResult:
        """Judge points against the frozen limits (phase II); shape (S, T) like ``fit``'s."""
        if self._center.size == 0:
            raise RuntimeError("fit the chart first")
        x, n = self._prepare(counts, sizes)
        stat, center, se, lcl, ucl = self._limits(x, n, self._center, self._factor)
        signals = evaluate_rules(stat, center, se, lcl, ucl, self._rules)
        base = self._baseline if self._baseline.shape == x.shape else np.zeros(x.shape, dtype=bool)
        return ChartResult(
            chart=np.array([self._name(bool(u)) for u in self._use_laney]),
            center=center,
            lcl=np.where(np.isnan(x), np.nan, lcl),
            ucl=np.where(np.isnan(x), np.nan, ucl),
            statistic=stat,
            signals=signals,
            sigma=np.full(x.shape[0], np.nan),
            baseline=base,
            extra={"sigma_z": self._sigma_z.copy(), "p_dispersion": self._p_dispersion.copy(), "se": se},
            reason=list(self._reason),
        )

    def fit_judge(
        self,
        counts: ArrayLike,
        sizes: ArrayLike | None = None,
        baseline: ArrayLike | int | None = None,
        exclude: ArrayLike | None = None,
    ) -> ChartResult:
        """``fit`` on the baseline points, then ``judge`` every point (phase I and II)."""
        return self.fit(counts, sizes, baseline, exclude).judge(counts, sizes)

    def update(self, counts: ArrayLike, sizes: ArrayLike | None = None) -> ChartResult:
        """Judge one new period for every stream (arrays of shape (S,)), keeping rule state.

        A stream with NaN count (or size 0) has no point this period; its run-rule state is kept.
        """
        x1 = np.asarray(counts, dtype=float).reshape(-1, 1)
        n1 = None if sizes is None else np.asarray(sizes, dtype=float).reshape(-1, 1)
        res = self.judge(x1, n1)
        if self._buffer is None:
            self._buffer = RuleBuffer(x1.shape[0], self._rules)
        flags = self._buffer.push(
            res.statistic[:, 0], res.center[:, 0], res.extra["se"][:, 0], res.lcl[:, 0], res.ucl[:, 0]
        )
        res.signals = {k: v[:, None] for k, v in flags.items()}
        return res
