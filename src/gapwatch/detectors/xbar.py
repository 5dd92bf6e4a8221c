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

import math
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
from gapwatch.detectors.estimate import revise_baseline
from gapwatch.detectors.rules import evaluate_rules, parse_rules
from gapwatch.stats.constants import Constants, c4, d2, d3

__all__ = ["XbarChart"]


Values = FloatArray | np.float64  # per subgroup, or one value when every subgroup has the same size


class _Constants:
    """d2, d3, c4 (and sqrt(1 - c4²)) per subgroup, each evaluated once per distinct size.

    When every subgroup has the same size the constants are scalars: elementwise
    arithmetic with a scalar gives the same values as with an array full of it.
    """

    def __init__(self, n: FloatArray, kind: Constants) -> None:
        self.n, self.kind = n, kind
        self._values: dict[str, Values] = {}
        self.missing = np.isnan(n)
        finite = ~self.missing
        self._all = bool(finite.all())
        sizes = n if self._all else n[finite]
        self.constant: float | None = None
        if sizes.size and sizes.min() == sizes.max():
            self.constant = float(sizes.flat[0])
        self.uniform = self.constant is not None and self._all

    def median_size(self) -> int:
        """The median subgroup size (the n whose c4 turns S̄ into sigma)."""
        return int(self.constant) if self.constant is not None else int(np.nanmedian(self.n))

    def get(self, name: str) -> Values:
        if name not in self._values:
            self._values[name] = self._make(name)
        return self._values[name]

    def full(self, name: str) -> FloatArray:
        """The constant as an array of the data's shape."""
        return np.broadcast_to(self.get(name), self.n.shape)

    def _value(self, name: str, size: float) -> float:
        if name == "c4b":  # sqrt(1 - c4²), the SD of S in sigma units
            a = c4(int(size), self.kind)
            return math.sqrt(1.0 - a * a)
        if name == "sqrt_n":
            return math.sqrt(size)
        fn = {"d2": d2, "d3": d3, "c4": c4}[name]
        return fn(int(size), self.kind)

    def _make(self, name: str) -> Values:
        n = self.n
        if self.uniform:
            assert self.constant is not None
            return np.float64(self._value(name, self.constant))
        if name == "sqrt_n":
            return np.sqrt(n)
        out = np.full(n.shape, np.nan)
        for size in np.unique(n[~np.isnan(n)]):
            out[n == size] = self._value(name, size)
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

    def _sigma_i(self, k: _Constants, spread: FloatArray) -> FloatArray:
        if self.dispersion == "S":
            c4s = k.get("c4")
            if np.ndim(c4s) == 0:
                return np.repeat((spread / c4s)[:, None], k.n.shape[1], axis=1)
            return np.asarray(spread[:, None] / c4s, dtype=float)
        return per_point(spread, k.n, k.missing)

    def _estimate(
        self, means: FloatArray, k: _Constants, spread: FloatArray, mask: BoolArray
    ) -> tuple[FloatArray, FloatArray]:
        n = k.n
        full = bool(mask.all())

        def masked(values: FloatArray) -> FloatArray:
            return values if full else np.where(mask, values, 0.0)

        w = masked(n).sum(axis=1)
        mu = masked(means * n).sum(axis=1) / np.where(w > 0, w, np.nan)
        if self.dispersion == "R":
            k2, k3 = k.get("d2"), k.get("d3")
            f = (k2 / k3) ** 2
            if full and np.ndim(f) == 0:  # the row sums of an array full of f, all alike
                fs = np.full(n.shape[0], np.full(n.shape[1], f).sum())
                est = (f * spread / k2).sum(axis=1) / np.where(fs > 0, fs, np.nan)
            else:
                f = masked(np.broadcast_to(f, n.shape))
                fs = f.sum(axis=1)
                est = masked(f * spread / k2).sum(axis=1) / np.where(fs > 0, fs, np.nan)
        else:
            if full and k.constant is not None:
                equal = np.ones(n.shape[0], dtype=bool)
            else:
                sizes = np.where(mask, n, np.nan)
                equal = np.nanmax(sizes, axis=1, initial=-1) == np.nanmin(sizes, axis=1, initial=np.inf)
            cnt = mask.sum(axis=1)
            est = masked(spread).sum(axis=1) / np.maximum(cnt, 1)
            if not equal.all():
                dof = masked(n - 1)
                pooled = np.sqrt(masked(dof * spread**2).sum(axis=1) / np.maximum(dof.sum(axis=1), 1))
                est = np.where(equal, est, pooled)
            est = np.where(cnt > 0, est, np.nan)
        return mu, est

    def _charts(self, k: _Constants) -> tuple[FloatArray, ...]:
        """Centre, se of the mean, and the dispersion chart's centre and limits per subgroup."""
        n = k.n
        sig = self._sigma_i(k, self._spread)
        with np.errstate(invalid="ignore"):
            se = sig / k.get("sqrt_n")
        center = per_point(self._mu, n, k.missing)
        if self.dispersion == "R":
            a, b = k.get("d2"), k.get("d3")
        else:
            a, b = k.get("c4"), k.get("c4b")
        d_center = a * sig
        half = (self.L * b) * sig
        d_lcl = d_center - half
        np.maximum(d_lcl, 0.0, out=d_lcl)
        d_ucl = np.add(d_center, half, out=half)
        return center, se, d_center, d_lcl, d_ucl

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
        self._fit(*self._prepare(means, sizes, spread), baseline, exclude, target, sigma)
        return self

    def _prepare(
        self, means: ArrayLike, sizes: ArrayLike, spread: ArrayLike
    ) -> tuple[FloatArray, _Constants, FloatArray]:
        m, n, r = as_matrix(means), as_matrix(sizes, copy=False), as_matrix(spread)
        return m, _Constants(n, self.constants), r

    def _fit(
        self,
        m: FloatArray,
        k: _Constants,
        r: FloatArray,
        baseline: ArrayLike | int | None,
        exclude: ArrayLike | None,
        target: ArrayLike | None,
        sigma: ArrayLike | None,
    ) -> None:
        if np.any(k.n < 2):
            raise ValueError("X̄ charts need subgroups of at least 2 observations")
        mask = baseline_mask(m.shape, baseline, exclude) & ~np.isnan(m)
        s = m.shape[0]
        tgt, sig = per_stream(target, s), per_stream(sigma, s)
        given = ~np.isnan(sig)

        def set_params(mk: BoolArray) -> None:
            mu, est = self._estimate(m, k, r, mk)
            self._mu = np.where(np.isnan(tgt), mu, tgt)
            if self.dispersion == "S" and given.any():  # a given sigma is turned into the S̄ it implies
                est = np.where(given, sig * c4(k.median_size(), self.constants), est)
            self._spread = np.where(given, sig, est) if self.dispersion == "R" else est

        def beyond(mk: BoolArray) -> BoolArray:
            set_params(mk)
            center, se, _, d_lcl, d_ucl = self._charts(k)
            out = (np.abs(m - center) > self.L * se) | (r > d_ucl) | (r < d_lcl)
            return np.asarray(out, dtype=bool)

        if self.revise:
            mask = revise_baseline(mask, beyond)
        set_params(mask)
        self._baseline = mask

    def judge(self, means: ArrayLike, sizes: ArrayLike, spread: ArrayLike) -> ChartResult:
        """X̄ chart (with ``dispersion``) of the subgroups against the fitted limits."""
        if self._mu.size == 0:
            raise RuntimeError("fit the chart first")
        return self._judge(*self._prepare(means, sizes, spread))

    def _judge(self, m: FloatArray, k: _Constants, r: FloatArray) -> ChartResult:
        s = m.shape[0]
        center, se, d_c, d_lcl, d_ucl = self._charts(k)
        half = self.L * se
        lcl, ucl = center - half, np.add(center, half, out=half)
        base = self._baseline if self._baseline.shape == m.shape else np.zeros(m.shape, dtype=bool)
        sigma = self._spread if self.dispersion == "R" else self._spread / c4(k.median_size(), self.constants)
        name = "xbar-r" if self.dispersion == "R" else "xbar-s"
        spread_flags = r > d_ucl
        spread_flags |= r < d_lcl
        disp = ChartResult(
            chart=np.full(s, self.dispersion.lower()),
            center=d_c,
            lcl=d_lcl,
            ucl=d_ucl,
            statistic=r,
            signals={"we1": spread_flags},
            sigma=sigma,
            baseline=base,
        )
        return ChartResult(
            chart=np.full(s, name),
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
        data = self._prepare(means, sizes, spread)
        self._fit(*data, baseline, exclude, target, sigma)
        return self._judge(*data)
