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

from gapwatch.detectors.base import BoolArray, ChartResult, FloatArray, as_matrix, baseline_mask, per_stream
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
    def _sizes(x: FloatArray, n: ArrayLike | None) -> FloatArray:
        cnt = np.ones_like(x) if n is None else np.broadcast_to(as_matrix(n, "n"), x.shape).astype(float)
        return np.where(np.isnan(x) | ~(cnt > 0), np.nan, cnt)

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
        x = as_matrix(values)
        cnt = self._sizes(x, n)
        x = np.where(np.isnan(cnt), np.nan, x)
        mask = baseline_mask(x.shape, baseline, exclude) & ~np.isnan(x)
        s = x.shape[0]
        w = np.where(mask, cnt, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mu_est = np.where(
                w.sum(axis=1) > 0, np.where(mask, x * cnt, 0.0).sum(axis=1) / w.sum(axis=1), np.nan
            )
        mu = np.where(np.isnan(per_stream(target, s)), mu_est, per_stream(target, s))
        sig_w = np.ones(s)
        have_within = within_sd is not None
        if have_within:
            sd = np.broadcast_to(as_matrix(np.asarray(within_sd, dtype=float)), x.shape)
            ok = mask & (cnt > 1) & ~np.isnan(sd)
            num = np.where(ok, (cnt - 1) * sd * sd, 0.0).sum(axis=1)
            den = np.where(ok, cnt - 1, 0.0).sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                sig_w = np.where(den > 0, np.sqrt(num / den), np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            z = (x - mu[:, None]) * np.sqrt(cnt) / sig_w[:, None]
        sigma_z = mr_bar(z, mask, self.mr, self.constants) / d2(2, self.constants)
        p_disp = chi2_sf(np.where(mask, z * z, 0.0).sum(axis=1), mask.sum(axis=1) - 1)
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
        self._reason = [
            f"EWMA λ={self.lam}, L={self.L}, {self.limits} limits; sigma "
            + ("given" if not np.isnan(given[i]) else f"from {why} (sigma_z={sigma_z[i]:.2f})")
            for i in range(s)
        ]
        self._z, self._v = mu.copy(), np.zeros(s)
        return self

    def _advance(
        self, z: FloatArray, v: FloatArray, x: FloatArray, cnt: FloatArray
    ) -> tuple[FloatArray, ...]:
        obs = ~np.isnan(x)
        var_x = self._sigma**2 / np.where(obs, cnt, 1.0)
        z_new = np.where(obs, self.lam * np.where(obs, x, 0.0) + (1 - self.lam) * z, z)
        v_new = np.where(obs, self.lam**2 * var_x + (1 - self.lam) ** 2 * v, v)
        if self.limits == "asymptotic":
            half = self.L * np.sqrt(var_x * self.lam / (2 - self.lam))
        else:
            half = self.L * np.sqrt(v_new)
        return z_new, v_new, half

    def _run(self, values: ArrayLike, n: ArrayLike | None, z0: FloatArray, v0: FloatArray) -> ChartResult:
        if self._mu.size == 0:
            raise RuntimeError("fit the chart first")
        x = as_matrix(values)
        cnt = self._sizes(x, n)
        x = np.where(np.isnan(cnt), np.nan, x)
        s, t = x.shape
        stat, half = np.full((s, t), np.nan), np.full((s, t), np.nan)
        z, v = z0.copy(), v0.copy()
        for j in range(t):
            z, v, h = self._advance(z, v, x[:, j], cnt[:, j])
            obs = ~np.isnan(x[:, j])
            stat[:, j] = np.where(obs, z, np.nan)
            half[:, j] = np.where(obs, h, np.nan)
        self._z, self._v = z, v
        center = np.where(np.isnan(x), np.nan, self._mu[:, None])
        lcl, ucl = center - half, center + half
        signals: dict[str, BoolArray] = {"ewma": (stat > ucl) | (stat < lcl)}
        base = self._baseline if self._baseline.shape == x.shape else np.zeros(x.shape, dtype=bool)
        return ChartResult(
            chart=np.array(["ewma"] * s),
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

    def judge(self, values: ArrayLike, n: ArrayLike | None = None) -> ChartResult:
        """Run the EWMA from z_0 = μ0 over ``values`` (S, T) with the fitted μ0 and σ."""
        s = self._mu.size
        return self._run(values, n, self._mu.copy(), np.zeros(s))

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
        return self.fit(values, n, baseline, exclude, target, sigma, within_sd).judge(values, n)

    def update(self, values: ArrayLike, n: ArrayLike | None = None) -> ChartResult:
        """Advance every stream by one closed period (arrays (S,)); NaN: no data, z kept."""
        x = np.asarray(values, dtype=float).reshape(-1, 1)
        cnt = None if n is None else np.asarray(n, dtype=float).reshape(-1, 1)
        return self._run(x, cnt, self._z, self._v)
