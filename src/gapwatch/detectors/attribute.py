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

from typing import ClassVar, Literal, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from gapwatch.detectors.base import BoolArray, ChartResult, FloatArray, as_matrix, baseline_mask
from gapwatch.detectors.estimate import MRConvention, mr_bar, revise_baseline
from gapwatch.detectors.rules import RuleBuffer, evaluate_rules, parse_rules
from gapwatch.stats.constants import Constants, d2
from gapwatch.stats.distributions import chi2_sf

__all__ = ["AttributeChart"]

Laney = bool | Literal["auto"]


class _Data(NamedTuple):
    """Prepared inputs: counts, sizes, rates; which points are missing, which sizes are NaN."""

    x: FloatArray
    n: FloatArray
    rate: FloatArray
    missing: BoolArray
    no_size: BoolArray | None  # None: every point has a size


class _Unit(NamedTuple):
    """Per-point centre, standard error and standardised rate (rate scale, no Laney factor)."""

    center: FloatArray
    se: FloatArray
    z: FloatArray


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
    def _prepare(self, counts: ArrayLike, sizes: ArrayLike | None) -> _Data:
        """Counts, sizes and rates (count/size) as (S, T) arrays; NaN where there is no point."""
        # inputs are copied only when written to (count charts plot the counts: copied)
        x = as_matrix(counts, "counts", copy=not self.per_unit)
        own_n = True
        if sizes is None or self.kind == "c":
            n = np.ones_like(x)
        else:
            n = as_matrix(sizes, "sizes", copy=False)
            own_n = False
            if n.shape != x.shape:
                n, own_n = np.broadcast_to(n, x.shape).astype(float), True
        missing = np.isnan(x)
        gaps = bool(missing.any())
        if gaps:
            n = n if own_n else n.copy()
            n[missing] = np.nan
        no_size: BoolArray | None = None
        sizes_ok = n.size == 0 or bool(n.min() > 0)  # False with any NaN, zero or negative size
        if not sizes_ok:
            no_size = np.isnan(n)
            empty = no_size | (n == 0)
            if empty.any():
                x = x.copy() if self.per_unit else x
                x[empty] = np.nan  # a period with no experiences has no point
                missing, gaps = np.isnan(x), True
        if np.any(x < 0) if gaps else x.size and x.min() < 0:  # a reduction when nothing is missing
            raise ValueError("counts must not be negative")
        if not sizes_ok and np.any(n < 0):
            raise ValueError("sizes must not be negative")
        if self.binomial and np.any(x > n):
            raise ValueError("a count is above its size")
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = x / n
        return _Data(x, n, rate, missing, no_size)

    def _unit_var(self, rbar: FloatArray) -> FloatArray:
        return np.asarray(rbar * (1.0 - rbar) if self.binomial else rbar, dtype=float)

    def _unit(self, rbar: FloatArray, n: FloatArray, rate: FloatArray) -> _Unit:
        """Centre, standard error and standardised rate per point, on the rate scale.

        Per-stream values are repeated over the periods first: arithmetic between
        contiguous arrays is several times faster than against an (S, 1) broadcast.
        """
        t = n.shape[1]
        center = np.repeat(rbar[:, None], t, axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            if t and (n == n[:, :1]).all():  # one size per stream (c chart): one sqrt per stream
                se = np.repeat(np.sqrt(self._unit_var(rbar) / n[:, 0])[:, None], t, axis=1)
            else:
                se = np.repeat(self._unit_var(rbar)[:, None], t, axis=1)
                se /= n
                np.sqrt(se, out=se)
            z = rate - center
            z /= se
        return _Unit(center, se, z)

    # ---------------------------------------------------------------- estimation
    def _estimate(
        self, d: _Data, mask: BoolArray
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, BoolArray, _Unit]:
        """Centre, limit factor, sigma_z, dispersion p-value, Laney use and the unit arrays."""
        x, n = d.x, d.n
        if mask.all():
            xs, ns = x.sum(axis=1), n.sum(axis=1)
        else:
            xs, ns = np.where(mask, x, 0.0).sum(axis=1), np.where(mask, n, 0.0).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            rbar = np.asarray(np.where(ns > 0, xs / ns, np.nan), dtype=float)
        unit = self._unit(rbar, n, d.rate)
        positive = unit.se > 0
        if positive.all():
            z = unit.z
            # every point plotted, finite centres, positive se: every z is a number
            ok = mask if mask.all() and np.isfinite(rbar).all() else mask & ~np.isnan(z)
        else:
            z = np.where(positive, unit.z, np.nan)
            ok = mask & ~np.isnan(z)
        sigma_z = mr_bar(z, ok, self.mr, self.constants) / d2(2, self.constants)
        all_ok = bool(ok.all())
        m = np.full(x.shape[0], x.shape[1]) if all_ok else ok.sum(axis=1)
        zz = z * z
        p_disp = chi2_sf((zz if all_ok else np.where(ok, zz, 0.0)).sum(axis=1), m - 1)
        if self.laney == "auto":
            use = (p_disp < self.alpha) & (sigma_z > 1.0)
        else:
            use = np.full(x.shape[0], bool(self.laney)) & ~np.isnan(sigma_z)
        factor = np.asarray(np.where(use, sigma_z, 1.0), dtype=float)
        return rbar, factor, sigma_z, p_disp, np.asarray(use, dtype=bool), unit

    def _limits(
        self,
        d: _Data,
        rbar: FloatArray,
        factor: FloatArray,
        unit: _Unit | None = None,
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray | None]:
        """Statistic, centre, se, limits and (when known) the standardised statistic.

        Count charts (np, c) plot the count itself; their zones come from the rate scale,
        so a count chart flags exactly what the rate chart of the same data flags.
        """
        x, n = d.x, d.n
        if unit is None:
            unit = self._unit(rbar, n, d.rate)
        center, se = unit.center, unit.se
        z: FloatArray | None = unit.z
        if not np.all(factor == 1.0):  # Laney: z is recomputed from the widened se
            se, z = se * factor[:, None], None
        if self.per_unit:
            stat = d.rate
            if d.no_size is not None and d.no_size.any():
                center = np.where(d.no_size, np.nan, center)
        else:
            with np.errstate(invalid="ignore"):  # size 0: no point, inf·0
                stat, center, se = x, center * n, se * n
        lcl = np.multiply(se, -self.L)  # center - L·se, in place
        lcl += center
        np.maximum(lcl, 0.0, out=lcl)
        ucl = np.multiply(se, self.L)
        ucl += center
        if self.binomial:
            np.minimum(ucl, 1.0 if self.per_unit else n, out=ucl)
        return stat, center, se, lcl, ucl, z

    def _beyond(self, d: _Data, mask: BoolArray) -> BoolArray:
        rbar, factor, *_, unit = self._estimate(d, mask)
        stat, _, _, lcl, ucl, _ = self._limits(d, rbar, factor, unit)
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
        self._fit(self._prepare(counts, sizes), baseline, exclude)
        return self

    def _fit(self, d: _Data, baseline: ArrayLike | int | None, exclude: ArrayLike | None) -> _Unit:
        """``fit`` on prepared arrays; returns the unit arrays of the final estimate."""
        mask = baseline_mask(d.x.shape, baseline, exclude)
        mask &= ~d.missing
        if self.revise:
            mask = revise_baseline(mask, lambda m: self._beyond(d, m))
        rbar, factor, sigma_z, p_disp, use, unit = self._estimate(d, mask)
        self._center, self._factor, self._sigma_z = rbar, factor, sigma_z
        self._p_dispersion, self._use_laney, self._baseline = p_disp, use, mask
        if self.laney == "auto":
            self._reason = [self._explain(i) for i in range(d.x.shape[0])]
        else:
            texts = [self._explain_configured(False), self._explain_configured(True)]
            self._reason = [texts[u] for u in use.tolist()]
        self._buffer = None
        return unit

    def _name(self, use: bool) -> str:
        return f"{self.kind}prime" if use else self.kind

    def _explain_configured(self, use: bool) -> str:
        return f"{self._name(use)} chart as configured"

    def _explain(self, i: int) -> str:
        sz, p = self._sigma_z[i], self._p_dispersion[i]
        if self.laney != "auto":
            return self._explain_configured(bool(self._use_laney[i]))
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
        return self._judge(self._prepare(counts, sizes))

    def _judge(self, d: _Data, unit: _Unit | None = None, live: bool = False) -> ChartResult:
        """Limits and flags of prepared points; ``live``: one period through the rule buffer."""
        x = d.x
        stat, center, se, lcl, ucl, z = self._limits(d, self._center, self._factor, unit)
        if live:
            if self._buffer is None:
                self._buffer = RuleBuffer(x.shape[0], self._rules)
            col = [a[:, 0] for a in (stat, center, se, lcl, ucl)]
            flags = self._buffer.push(*col, z=None if z is None else z[:, 0])
            signals = {k: v[:, None] for k, v in flags.items()}
        else:
            gone = d.missing  # also streams without a centre (no baseline): not plotted
            if np.isnan(self._center).any():
                gone = gone | np.isnan(self._center)[:, None]
            signals = evaluate_rules(stat, center, se, lcl, ucl, self._rules, z=z, missing=gone)
        base = self._baseline if self._baseline.shape == x.shape else np.zeros(x.shape, dtype=bool)
        if d.missing.any():
            lcl, ucl = np.where(d.missing, np.nan, lcl), np.where(d.missing, np.nan, ucl)
        names = np.array([self._name(False), self._name(True)])
        return ChartResult(
            chart=names[self._use_laney.astype(np.intp)],
            center=center,
            lcl=lcl,
            ucl=ucl,
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
        data = self._prepare(counts, sizes)
        return self._judge(data, self._fit(data, baseline, exclude))

    def update(self, counts: ArrayLike, sizes: ArrayLike | None = None) -> ChartResult:
        """Judge one new period for every stream (arrays of shape (S,)), keeping rule state.

        A stream with NaN count (or size 0) has no point this period; its run-rule state is kept.
        """
        if self._center.size == 0:
            raise RuntimeError("fit the chart first")
        x1 = np.asarray(counts, dtype=float).reshape(-1, 1)
        n1 = None if sizes is None else np.asarray(sizes, dtype=float).reshape(-1, 1)
        return self._judge(self._prepare(x1, n1), live=True)
