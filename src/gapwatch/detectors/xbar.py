"""X̄-R and X̄-S charts over many streams, variable subgroup sizes allowed.

Montgomery, *Introduction to Statistical Quality Control*, §6.2-6.3.  X̄-R: with equal sizes
σ̂ = R̄/d2(n); with unequal sizes the weighted average of R_i/d2(n_i) with weights
d2(n_i)²/d3(n_i)² (R qcc's "UWAVE-R", which reduces to R̄/d2 for equal sizes).  X̄-S: with
equal sizes S̄ is the mean of the subgroup SDs, with unequal sizes the pooled
S̄ = sqrt(Σ(n_i-1)s_i²/Σ(n_i-1)) (Montgomery §6.3.2), and σ̂_i = S̄/c4(n_i).
Limits: x̿ ± L·σ̂_i/√n_i; R chart d2σ̂ ± L·d3σ̂; S chart c4σ̂ ± L·σ̂·sqrt(1 - c4²) (lower
limits clipped at 0).  x̿ is the size-weighted mean of the subgroup means.
Prefer X̄-S for subgroups above ~10 or with varying sizes.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from gapwatch.detectors.base import BoolArray, ChartResult, FloatArray, as_matrix, baseline_mask, per_stream
from gapwatch.detectors.estimate import revise_baseline
from gapwatch.detectors.rules import evaluate_rules, parse_rules
from gapwatch.stats.constants import Constants, c4, d2, d3

__all__ = ["XbarChart"]


def _vec(fn: object, n: FloatArray, kind: Constants) -> FloatArray:
    """A constant evaluated per subgroup size (NaN where there is no subgroup)."""
    out = np.full(n.shape, np.nan)
    for size in np.unique(n[~np.isnan(n)]):
        out[n == size] = fn(int(size), kind)  # type: ignore[operator]
    return out


class XbarChart:
    """X̄ chart with its R (``dispersion="R"``) or S (``dispersion="S"``) companion.

    Inputs per (stream, subgroup): ``means``, ``sizes`` and ``spread`` (ranges or SDs).
    """

    def __init__(
        self,
        dispersion: Literal["R", "S"] = "R",
        L: float = 3.0,
        rules: str | tuple[str, ...] = "we1",
        revise: bool = False,
        constants: Constants = "exact",
    ) -> None:
        if dispersion not in ("R", "S"):
            raise ValueError("dispersion must be 'R' or 'S'")
        self.dispersion, self.L, self.rules, self.revise, self.constants = (
            dispersion,
            L,
            rules,
            revise,
            constants,
        )
        self._rules = parse_rules(rules)
        self._mu = np.empty(0)
        self._spread = np.empty(0)  # σ̂ (R) or S̄ (S)
        self._baseline = np.empty((0, 0), dtype=bool)

    def __repr__(self) -> str:
        return (
            f"XbarChart(dispersion={self.dispersion!r}, L={self.L}, rules={self.rules!r}, "
            f"revise={self.revise}, constants={self.constants!r})"
        )

    def _sigma_i(self, n: FloatArray, spread: FloatArray) -> FloatArray:
        if self.dispersion == "S":
            return np.asarray(spread[:, None] / _vec(c4, n, self.constants), dtype=float)
        return np.where(np.isnan(n), np.nan, spread[:, None])

    def _estimate(
        self, means: FloatArray, n: FloatArray, spread: FloatArray, mask: BoolArray
    ) -> tuple[FloatArray, ...]:
        w = np.where(mask, n, 0.0)
        mu = np.where(mask, means * n, 0.0).sum(axis=1) / np.where(w.sum(axis=1) > 0, w.sum(axis=1), np.nan)
        if self.dispersion == "R":
            k2, k3 = _vec(d2, n, self.constants), _vec(d3, n, self.constants)
            f = np.where(mask, (k2 / k3) ** 2, 0.0)
            est = np.where(mask, f * spread / k2, 0.0).sum(axis=1) / np.where(
                f.sum(axis=1) > 0, f.sum(axis=1), np.nan
            )
        else:
            sizes = np.where(mask, n, np.nan)
            equal = np.nanmax(sizes, axis=1, initial=-1) == np.nanmin(sizes, axis=1, initial=np.inf)
            cnt = mask.sum(axis=1)
            sbar_eq = np.where(mask, spread, 0.0).sum(axis=1) / np.maximum(cnt, 1)
            dof = np.where(mask, n - 1, 0.0)
            pooled = np.sqrt(
                np.where(mask, dof * spread**2, 0.0).sum(axis=1) / np.maximum(dof.sum(axis=1), 1)
            )
            est = np.where(equal, sbar_eq, pooled)
            est = np.where(cnt > 0, est, np.nan)
        return mu, est

    def _charts(self, means: FloatArray, n: FloatArray, spread: FloatArray) -> tuple[FloatArray, ...]:
        sig = self._sigma_i(n, self._spread)
        with np.errstate(invalid="ignore"):
            se = sig / np.sqrt(n)
        center = np.where(np.isnan(n), np.nan, self._mu[:, None])
        if self.dispersion == "R":
            a, b = _vec(d2, n, self.constants), _vec(d3, n, self.constants)
        else:
            a = _vec(c4, n, self.constants)
            b = np.sqrt(1.0 - a * a)
        d_center = a * sig
        return center, se, d_center, np.maximum(d_center - self.L * b * sig, 0.0), d_center + self.L * b * sig

    def fit(
        self,
        means: ArrayLike,
        sizes: ArrayLike,
        spread: ArrayLike,
        baseline: ArrayLike | int | None = None,
        exclude: ArrayLike | None = None,
        target: ArrayLike | None = None,
        sigma: ArrayLike | None = None,
    ) -> XbarChart:
        """Estimate x̿ and σ̂ per stream from the baseline subgroups (unless given)."""
        m, n, r = as_matrix(means), as_matrix(sizes), as_matrix(spread)
        if np.any(n[~np.isnan(n)] < 2):
            raise ValueError("X̄ charts need subgroups of at least 2 observations")
        mask = baseline_mask(m.shape, baseline, exclude) & ~np.isnan(m)
        s = m.shape[0]
        tgt, sig = per_stream(target, s), per_stream(sigma, s)

        def set_params(mk: BoolArray) -> None:
            mu, est = self._estimate(m, n, r, mk)
            self._mu = np.where(np.isnan(tgt), mu, tgt)
            if self.dispersion == "S":  # a given sigma is turned into the S̄ it implies
                est = np.where(np.isnan(sig), est, sig * c4(int(np.nanmedian(n)), self.constants))
            self._spread = np.where(np.isnan(sig), est, sig) if self.dispersion == "R" else est

        def beyond(mk: BoolArray) -> BoolArray:
            set_params(mk)
            center, se, _, d_lcl, d_ucl = self._charts(m, n, r)
            out = (np.abs(m - center) > self.L * se) | (r > d_ucl) | (r < d_lcl)
            return np.asarray(out, dtype=bool)

        if self.revise:
            mask = revise_baseline(mask, beyond)
        set_params(mask)
        self._baseline = mask
        return self

    def judge(self, means: ArrayLike, sizes: ArrayLike, spread: ArrayLike) -> ChartResult:
        """X̄ chart (with ``dispersion``) of the subgroups against the fitted limits."""
        if self._mu.size == 0:
            raise RuntimeError("fit the chart first")
        m, n, r = as_matrix(means), as_matrix(sizes), as_matrix(spread)
        s = m.shape[0]
        center, se, d_c, d_lcl, d_ucl = self._charts(m, n, r)
        lcl, ucl = center - self.L * se, center + self.L * se
        base = self._baseline if self._baseline.shape == m.shape else np.zeros(m.shape, dtype=bool)
        sigma = (
            self._spread
            if self.dispersion == "R"
            else self._spread / c4(int(np.nanmedian(n)), self.constants)
        )
        name = "xbar-r" if self.dispersion == "R" else "xbar-s"
        disp = ChartResult(
            chart=np.array([self.dispersion.lower()] * s),
            center=d_c,
            lcl=d_lcl,
            ucl=d_ucl,
            statistic=r,
            signals={"we1": np.asarray((r > d_ucl) | (r < d_lcl), dtype=bool)},
            sigma=sigma,
            baseline=base,
        )
        return ChartResult(
            chart=np.array([name] * s),
            center=center,
            lcl=lcl,
            ucl=ucl,
            statistic=m,
            signals=evaluate_rules(m, center, se, lcl, ucl, self._rules),
            sigma=sigma,
            baseline=base,
            extra={"se": se},
            dispersion=disp,
            reason=[f"{name} chart on subgroups"] * s,
        )

    def fit_judge(
        self,
        means: ArrayLike,
        sizes: ArrayLike,
        spread: ArrayLike,
        baseline: ArrayLike | int | None = None,
        exclude: ArrayLike | None = None,
        target: ArrayLike | None = None,
        sigma: ArrayLike | None = None,
    ) -> ChartResult:
        """``fit`` then ``judge`` the same subgroups."""
        return self.fit(means, sizes, spread, baseline, exclude, target, sigma).judge(means, sizes, spread)
