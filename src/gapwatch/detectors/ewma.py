"""EWMA chart on individual values or on per-period means, many streams at once.

z_t = λ·x_t + (1 - λ)·z_{t-1}, z_0 = μ0 (Roberts 1959; Lucas & Saccucci 1990, "Exponentially
weighted moving average control schemes", Technometrics 32(1):1-12).  With per-period means
of n_t observations, Var(z_t) = λ²σ²/n_t + (1 - λ)²·Var(z_{t-1}) (exact, time-varying limits;
for n_t = 1 this is σ²·λ/(2-λ)·(1 - (1-λ)^{2t})); asymptotic limits use σ²/n_t·λ/(2-λ).
A missing period leaves z and its variance unchanged.  Prefer EWMA to a Shewhart chart for
small persistent shifts (0.5-1.5 σ); prefer CUSUM when the shift size is known.

Sigma, when not given, comes from the baseline: for individual values MR̄/d2(2); for
period means built from sums and sums of squares, the pooled within-period SD σ_w,
inflated by Laney's sigma_z when the period means vary more than σ_w/√n_t explains
(``sigma_method="auto"``: chi-square dispersion test at ``alpha`` and sigma_z > 1, as for
``PChart(laney="auto")``).
"""

from __future__ import annotations

from typing import Literal

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
from gapwatch.detectors.estimate import MRConvention, mr_bar
from gapwatch.stats.constants import Constants, d2
from gapwatch.stats.distributions import chi2_sf

__all__ = ["EWMA", "period_moments"]

SigmaMethod = Literal["auto", "within", "laney"]


def period_moments(sums: ArrayLike, sumsq: ArrayLike, n: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Per-period mean and within-period SD (ddof 1) from count, sum and sum of squares."""
    s, ss, cnt = as_matrix(sums), as_matrix(sumsq), as_matrix(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(cnt > 0, s / cnt, np.nan)
        var = np.where(cnt > 1, np.maximum(ss - s * mean, 0.0) / (cnt - 1), np.nan)
    return mean, np.sqrt(var)


class EWMA:
    """Exponentially weighted moving average chart over many streams.

    Parameters
    ----------
    lam : float
        Smoothing weight λ in (0, 1].
    L : float
        Limit width in standard deviations of z_t.
    limits : {"exact", "asymptotic"}
    sigma_method : {"auto", "within", "laney"}
        How sigma is estimated from per-period means with a within-period SD (see module).
    mr, constants, alpha
        Moving-range convention, bias constants and dispersion-test level.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[0.1, -0.3, 0.2, 0.0, 2.5, 3.0, 3.0]])
    >>> res = EWMA(lam=0.2, L=3.0).fit_judge(x, target=0.0, sigma=1.0)
    >>> np.flatnonzero(res.signals["ewma"][0]).tolist()
    [5, 6]
    """

    def __init__(
        self,
        lam: float = 0.2,
        L: float = 3.0,
        limits: Literal["exact", "asymptotic"] = "exact",
        sigma_method: SigmaMethod = "auto",
        mr: MRConvention = "plain",
        constants: Constants = "exact",
        alpha: float = 0.01,
    ) -> None:
        if not 0 < lam <= 1:
            raise ValueError(f"lambda must be in (0, 1], got {lam}")
        if not L > 0:
            raise ValueError(f"L must be positive, got {L}")
        if limits not in ("exact", "asymptotic") or sigma_method not in ("auto", "within", "laney"):
            raise ValueError("limits must be exact|asymptotic, sigma_method auto|within|laney")
        self.lam, self.L, self.limits, self.sigma_method = lam, L, limits, sigma_method
        self.mr, self.constants, self.alpha = mr, constants, alpha
        self._reset()

    def _reset(self) -> None:
        self._mu = np.empty(0)
        self._sigma = np.empty(0)
        self._sigma_z = np.empty(0)
        self._baseline = np.empty((0, 0), dtype=bool)
        self._reason: list[str] = []
        self._z = np.empty(0)
        self._v = np.empty(0)

    def __repr__(self) -> str:
        return (
            f"EWMA(lam={self.lam}, L={self.L}, limits={self.limits!r}, sigma_method={self.sigma_method!r}, "
            f"mr={self.mr!r}, constants={self.constants!r}, alpha={self.alpha})"
        )

    @staticmethod
    def _prepare(values: ArrayLike, n: ArrayLike | None) -> tuple[FloatArray, FloatArray | None]:
        """Values and sizes (None: one observation per point); NaN where there is no point."""
        x = as_matrix(values, copy=n is not None)  # written to only where a size is missing
        if n is None:
            return x, None
        cnt = np.broadcast_to(as_matrix(n, "n"), x.shape).astype(float)
        cnt[np.isnan(x) | ~(cnt > 0)] = np.nan
        x[np.isnan(cnt)] = np.nan
        return x, cnt

    def fit(
        self,
        values: ArrayLike,
        n: ArrayLike | None = None,
        baseline: ArrayLike | int | None = None,
        exclude: ArrayLike | None = None,
        target: ArrayLike | None = None,
        sigma: ArrayLike | None = None,
        within_sd: ArrayLike | None = None,
    ) -> EWMA:
        """Estimate μ0 and σ per stream (unless given) from the baseline points.

        ``values`` are individual values or per-period means of ``n`` observations with
        within-period SD ``within_sd`` (see ``period_moments``); NaN marks a missing period.
        ``sigma`` is the SD of one observation (of the plotted value when ``n`` is None).
        """
        self._fit(*self._prepare(values, n), baseline, exclude, target, sigma, within_sd)
        return self

    def _fit(
        self,
        x: FloatArray,
        cnt: FloatArray | None,
        baseline: ArrayLike | int | None,
        exclude: ArrayLike | None,
        target: ArrayLike | None,
        sigma: ArrayLike | None,
        within_sd: ArrayLike | None,
    ) -> None:
        mask = baseline_mask(x.shape, baseline, exclude) & ~np.isnan(x)
        s, t = x.shape
        full = bool(mask.all())

        def masked(values: FloatArray) -> FloatArray:
            return values if full else np.where(mask, values, 0.0)

        ones = np.ones(x.shape) if cnt is None else cnt
        w = masked(ones).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mu_est = np.where(w > 0, masked(x if cnt is None else x * cnt).sum(axis=1) / w, np.nan)
        mu = np.where(np.isnan(per_stream(target, s)), mu_est, per_stream(target, s))
        sig_w = np.ones(s)
        have_within = within_sd is not None
        if have_within:
            sd = np.broadcast_to(as_matrix(np.asarray(within_sd, dtype=float)), x.shape)
            ok = mask & (ones > 1) & ~np.isnan(sd)
            num = np.where(ok, (ones - 1) * sd * sd, 0.0).sum(axis=1)
            den = np.where(ok, ones - 1, 0.0).sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                sig_w = np.where(den > 0, np.sqrt(num / den), np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            z = x - np.repeat(mu[:, None], t, axis=1)  # standardised points, computed in place
            if cnt is not None:
                z *= np.sqrt(cnt)
            if have_within:
                z /= np.repeat(sig_w[:, None], t, axis=1)
        sigma_z = mr_bar(z, mask, self.mr, self.constants) / d2(2, self.constants)
        m = np.full(s, t) if full else mask.sum(axis=1)
        p_disp = chi2_sf(masked(z * z).sum(axis=1), m - 1)
        if not have_within or self.sigma_method == "laney":
            factor, why = sigma_z, "moving ranges of the baseline"
        elif self.sigma_method == "within":
            factor, why = np.ones(s), "pooled within-period SD"
        else:
            over = (p_disp < self.alpha) & (sigma_z > 1)
            factor = np.where(over, sigma_z, 1.0)
            why = "pooled within-period SD, Laney-inflated where over-dispersed"
        sig_est = sig_w * factor
        given = per_stream(sigma, s)
        self._sigma = np.where(np.isnan(given), sig_est, given)
        self._mu, self._sigma_z, self._baseline = mu, sigma_z, mask
        head = f"EWMA λ={self.lam}, L={self.L}, {self.limits} limits; sigma "
        self._reason = [
            head + ("given" if g else f"from {why} (sigma_z={sz:.2f})")
            for g, sz in zip((~np.isnan(given)).tolist(), sigma_z.tolist(), strict=True)
        ]
        self._z, self._v = mu.copy(), np.zeros(s)

    def _run(self, x: FloatArray, cnt: FloatArray | None, z0: FloatArray, v0: FloatArray) -> ChartResult:
        if self._mu.size == 0:
            raise RuntimeError("fit the chart first")
        s = x.shape[0]
        missing = np.isnan(x)
        stat, var = self._recurse(x, cnt, missing, z0, v0)
        with np.errstate(invalid="ignore", divide="ignore"):
            if self.limits == "asymptotic":
                var = np.repeat((self._sigma**2)[:, None], x.shape[1], axis=1)  # σ²/n_t·λ/(2-λ)
                var /= np.where(missing, np.nan, 1.0) if cnt is None else cnt
                var *= self.lam
                var /= 2 - self.lam
            half = np.sqrt(var, out=var)
        half *= self.L
        center = per_point(self._mu, x, missing)
        lcl, ucl = center - half, center + half
        signals: dict[str, BoolArray] = {"ewma": (stat > ucl) | (stat < lcl)}
        base = self._baseline if self._baseline.shape == x.shape else np.zeros(x.shape, dtype=bool)
        return ChartResult(
            chart=np.full(s, "ewma"),
            center=center,
            lcl=lcl,
            ucl=ucl,
            statistic=stat,
            signals=signals,
            sigma=self._sigma.copy(),
            baseline=base,
            extra={"sigma_z": self._sigma_z.copy(), "se": half / self.L},
            reason=list(self._reason),
        )

    def _recurse(
        self, x: FloatArray, cnt: FloatArray | None, missing: BoolArray, z: FloatArray, v: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """z_t and Var(z_t) per point (NaN where missing); a missing period keeps both.

        Runs over periods with all streams at once, on period-major copies so each step
        reads and writes contiguous rows, in place; keeps the final state for ``update``.
        """
        lam, keep = self.lam, 1 - self.lam
        exact = self.limits == "exact"  # asymptotic limits need no Var(z_t)
        t = x.shape[1]
        # z and Var(z) as one (k, S) state per period: state·decay + step, with steps λ·x_t
        # and λ²·σ²/n_t; period-major so each step reads and writes contiguous rows
        steps = np.empty((2 if exact else 1, t, x.shape[0]))  # (k, T, S): see CUSUM
        np.multiply(x.T, lam, out=steps[0])
        if exact:
            sigma2 = self._sigma**2
            with np.errstate(invalid="ignore", divide="ignore"):
                var_x = sigma2 if cnt is None else (sigma2[:, None] / np.where(missing, 1.0, cnt)).T
            np.multiply(var_x, lam**2, out=steps[1])
        decay = np.array([keep, keep**2][: steps.shape[0]])[:, None]
        gaps = np.asarray(missing.any(axis=0), dtype=bool)
        miss_t = np.ascontiguousarray(missing.T) if gaps.any() else None
        out = np.empty_like(steps)
        state = np.stack([z, v][: steps.shape[0]])
        has_gap = gaps.tolist()
        for j in range(t):
            row = np.multiply(state, decay, out=out[:, j])
            row += steps[:, j]
            if has_gap[j]:
                assert miss_t is not None
                np.copyto(row, state, where=miss_t[j])
            state = row
        self._z = state[0].copy()
        self._v = state[1].copy() if exact else v.copy()
        stat = out[0].T.copy()
        var = out[1].T.copy() if exact else np.empty(0)
        if gaps.any():
            stat[missing] = np.nan
            if exact:
                var[missing] = np.nan
        return stat, var

    def judge(self, values: ArrayLike, n: ArrayLike | None = None) -> ChartResult:
        """Run the EWMA from z_0 = μ0 over ``values`` (S, T) with the fitted μ0 and σ."""
        s = self._mu.size
        return self._run(*self._prepare(values, n), self._mu.copy(), np.zeros(s))

    def fit_judge(
        self,
        values: ArrayLike,
        n: ArrayLike | None = None,
        baseline: ArrayLike | int | None = None,
        exclude: ArrayLike | None = None,
        target: ArrayLike | None = None,
        sigma: ArrayLike | None = None,
        within_sd: ArrayLike | None = None,
    ) -> ChartResult:
        """``fit`` then ``judge`` the same data (phase I and II)."""
        x, cnt = self._prepare(values, n)
        self._fit(x, cnt, baseline, exclude, target, sigma, within_sd)
        return self._run(x, cnt, self._mu.copy(), np.zeros(self._mu.size))

    def update(self, values: ArrayLike, n: ArrayLike | None = None) -> ChartResult:
        """Advance every stream by one closed period (arrays (S,)); NaN: no data, z kept."""
        x = np.asarray(values, dtype=float).reshape(-1, 1)
        cnt = None if n is None else np.asarray(n, dtype=float).reshape(-1, 1)
        return self._run(*self._prepare(x, cnt), self._z, self._v)
