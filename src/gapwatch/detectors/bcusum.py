"""Bernoulli CUSUM on single experiences (miss = 1, met = 0), many streams at once.

Reynolds & Stoumbos (1999), "A CUSUM chart for monitoring a proportion when inspecting
continuously", Journal of Quality Technology 31(1):87-108.  For an in-control miss rate p0
and a rate p1 > p0 to detect, the log-likelihood-ratio CUSUM scaled to unit jumps is
B_t = max(0, B_{t-1} + X_t - γ),  γ = ln((1-p0)/(1-p1)) / ln(p1(1-p0) / (p0(1-p1))),
signalling when B_t >= h.  It judges each experience as it arrives, which is what thin
streams need: with n·p < 5 a day, daily p-chart limits are meaningless.  By default γ is
rounded to a fraction d/g (within 0.5 %) and ``h`` is the lattice point giving ``arl0``
experiences between false alarms by the chart's exact Markov chain (``bcusum_lattice``);
``bernoulli_cusum_arl`` is the Brook & Evans (1972) chain on a fine grid of B for any γ and h.
Prefer the g-chart when only the gaps between misses are recorded.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from numpy.typing import ArrayLike

from gapwatch.detectors.base import ChartResult, FloatArray, as_matrix, baseline_mask, per_point
from gapwatch.detectors.bcusum_lattice import bernoulli_design, bernoulli_gamma

__all__ = ["BernoulliCUSUM", "bernoulli_cusum_arl", "bernoulli_gamma", "bernoulli_h_for_arl"]

MAX_STATES = 400_000  # the Markov chain's size cap (memory and time of one sparse solve)


def bernoulli_cusum_arl(p: float, gamma: float, h: float, resolution: int = 100) -> float:
    """Zero-state ARL (in experiences) at miss rate ``p`` (Markov chain, Brook & Evans 1972).

    B moves on a grid fine enough that γ is ``resolution`` steps (γ exact to 1/(2·resolution)
    relative); the sparse linear system is solved with scipy (imported here only).
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.linalg import MatrixRankWarning, spsolve

    grid = max(200, math.ceil(resolution / gamma))
    # a bounded chain whatever h is asked for: past MAX_STATES the grid coarsens (only an h far
    # beyond any ARL₀ in use gets there; its ARL is then endless to us anyway)
    grid = max(25, min(grid, MAX_STATES // max(1, math.ceil(h))))
    down = max(1, round(gamma * grid))
    up = grid - down
    m = max(1, math.ceil(h * grid))  # states 0 .. m-1: B < h, no signal yet
    idx = np.arange(m)
    hi = idx + up
    inside = hi < m
    rows = np.concatenate([idx, idx[inside], idx])
    cols = np.concatenate([idx, hi[inside], np.maximum(idx - down, 0)])
    vals = np.concatenate([np.ones(m), np.full(int(inside.sum()), -p), np.full(m, -(1 - p))])
    q = csr_matrix((vals, (rows, cols)), shape=(m, m))
    with warnings.catch_warnings():
        # a rate so low (or h so high) that the chain leaves B < h with a probability below the
        # float's precision: the system is singular in floating point and the ARL is, to us, endless
        warnings.simplefilter("error", MatrixRankWarning)
        try:
            arl = float(spsolve(q, np.ones(m))[0])
        except MatrixRankWarning:
            return math.inf
    return arl if math.isfinite(arl) and arl > 0 else math.inf


def bernoulli_h_for_arl(p0: float, p1: float, arl0: float) -> float:
    """The smallest h (to 0.005) whose in-control ARL reaches ``arl0``."""
    gamma = bernoulli_gamma(p0, p1)
    lo, hi = 0.005, 1.0
    while bernoulli_cusum_arl(p0, gamma, hi) < arl0:
        hi *= 2
        if hi > 1e4:
            raise ValueError("arl0 too large for this p0")
    while hi - lo > 0.005:
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if bernoulli_cusum_arl(p0, gamma, mid) < arl0 else (lo, mid)
    return math.ceil(hi * 200) / 200


class BernoulliCUSUM:
    """Bernoulli CUSUM over many streams: ``events`` (S, T) of 0/1 (NaN: no experience).

    Parameters
    ----------
    p0 : float, optional
        In-control miss rate; default the baseline rate of each stream.
    odds_ratio : float
        p1 is the rate with the odds of p0 multiplied by this (default 2).
    h : float, optional
        Decision limit.  By default the lattice design (``bcusum_lattice``): γ rounded to a
        fraction d/g within 0.5 % and h from the exact Markov chain for ``arl0``.
    arl0 : float
        In-control experiences between false alarms used to set ``h`` (default 2000).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> x = (rng.random(400) < np.r_[np.full(300, 0.02), np.full(100, 0.15)]).astype(float)
    >>> res = BernoulliCUSUM(p0=0.02, h=3.0).fit_judge(x)
    >>> int(np.flatnonzero(res.signals["bcusum"][0])[0]) >= 300
    True
    """

    def __init__(
        self, p0: float | None = None, odds_ratio: float = 2.0, h: float | None = None, arl0: float = 2000.0
    ) -> None:
        if not odds_ratio > 1:
            raise ValueError("odds_ratio must exceed 1 (an increase in misses)")
        self.p0, self.odds_ratio, self.h, self.arl0 = p0, odds_ratio, h, arl0
        self._p0 = np.empty(0)
        self._gamma = np.empty(0)
        self._h = np.empty(0)
        self._baseline = np.empty((0, 0), dtype=bool)

    def __repr__(self) -> str:
        return f"BernoulliCUSUM(p0={self.p0}, odds_ratio={self.odds_ratio}, h={self.h}, arl0={self.arl0})"

    def _p1(self, p0: float) -> float:
        odds = p0 / (1 - p0) * self.odds_ratio
        return odds / (1 + odds)

    def fit(
        self, events: ArrayLike, baseline: ArrayLike | int | None = None, exclude: ArrayLike | None = None
    ) -> BernoulliCUSUM:
        """p0 (unless given), γ and h per stream."""
        x = as_matrix(events, copy=False)  # read only
        if np.any((x != 0) & (x != 1) & ~np.isnan(x)):
            raise ValueError("Bernoulli CUSUM values must be 0 or 1")
        mask = baseline_mask(x.shape, baseline, exclude) & ~np.isnan(x)
        est = np.where(mask, x, 0.0).sum(axis=1) / np.maximum(mask.sum(axis=1), 1)
        p0 = np.full(x.shape[0], self.p0) if self.p0 is not None else est
        p0 = np.clip(p0, 1e-6, 0.5)
        rates, which = np.unique(p0, return_inverse=True)  # γ and h once per distinct p0
        gam, hs = [], []
        for p in rates.tolist():
            if self.h is None:  # the lattice design: γ = d/g, h from the exact chain
                design = bernoulli_design(p, self.arl0, self.odds_ratio)
                gam.append(design.gamma)
                hs.append(design.h)
            else:
                gam.append(bernoulli_gamma(p, self._p1(p)))
                hs.append(self.h)
        self._p0, self._baseline = p0, mask
        self._gamma, self._h = np.array(gam)[which], np.array(hs)[which]
        return self

    def judge(self, events: ArrayLike) -> ChartResult:
        """B_t per (stream, experience)."""
        x = as_matrix(events, copy=False)  # read only
        s, t = x.shape
        missing = np.isnan(x)
        gaps = np.asarray(missing.any(axis=0), dtype=bool)
        xt = np.ascontiguousarray(x.T)  # period-major: each step reads and writes contiguous rows
        miss_t = np.ascontiguousarray(missing.T) if gaps.any() else None
        stat_t = np.empty_like(xt)
        b = np.zeros(s)
        gamma, has_gap = self._gamma, gaps.tolist()
        for j in range(t):
            row = stat_t[j]
            np.add(b, xt[j], out=row)  # B = max(0, B + X - γ); a missing point keeps B
            row -= gamma
            np.maximum(0.0, row, out=row)
            if has_gap[j]:
                assert miss_t is not None
                np.copyto(row, b, where=miss_t[j])
            b = row
        stat: FloatArray = stat_t.T.copy()
        if gaps.any():
            stat[missing] = np.nan
        ucl = per_point(np.asarray(self._h, dtype=float), x, missing)
        base = self._baseline if self._baseline.shape == x.shape else np.zeros(x.shape, dtype=bool)
        return ChartResult(
            chart=np.full(s, "bcusum"),
            center=per_point(np.zeros(s), x, missing),
            lcl=np.full((s, t), np.nan),
            ucl=ucl,
            statistic=stat,
            signals={"bcusum": np.asarray(stat >= ucl, dtype=bool)},
            sigma=np.full(s, np.nan),
            baseline=base,
            extra={"p0": self._p0.copy(), "gamma": self._gamma.copy(), "h": self._h.copy()},
            reason=self._reasons(),
        )

    def _reasons(self) -> list[str]:
        texts: dict[tuple[float, float], str] = {}  # one text per distinct (p0, h)
        for key in zip(self._p0.tolist(), self._h.tolist(), strict=True):
            if key not in texts:
                p, h = key
                texts[key] = (
                    f"Bernoulli CUSUM per experience: p0={p:.4g}, detects odds ×{self.odds_ratio}, h={h:.3g}"
                )
        return [texts[key] for key in zip(self._p0.tolist(), self._h.tolist(), strict=True)]

    def fit_judge(
        self, events: ArrayLike, baseline: ArrayLike | int | None = None, exclude: ArrayLike | None = None
    ) -> ChartResult:
        """``fit`` then ``judge`` the same data."""
        return self.fit(events, baseline, exclude).judge(events)
