"""False-alarm control across many streams: a workspace budget, ARL₀ allocation and FDR.

A workspace watches S streams, each judged ``periods_per_week`` times a week.  With a budget
of B false alarms per week across all of them, each stream may raise a false alarm with
per-point probability α = B / (S · periods_per_week), i.e. an in-control ARL₀ = 1/α periods.
``limits_for_budget`` turns that into the chart's parameter: L for a two-sided Shewhart
chart (α = 2Φ(-L)), L for an EWMA and h for a CUSUM (both from Markov-chain ARLs, Brook &
Evans 1972; Lucas & Saccucci 1990).  This allocation is the default (see docs/spc.md): the
limits of one stream do not depend on what other streams did that day, so every alert can
state its ARL₀ and be reproduced from its own stream.

``benjamini_hochberg`` is the alternative: per period, it controls the false-discovery
rate over the per-point p-values of all streams (Benjamini & Hochberg 1995, JRSS B 57(1)).
It has more power when an incident moves many streams at once, but needs p-values (Shewhart
charts only) and its threshold depends on the other streams.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gapwatch.detectors.base import BoolArray, ChartResult, FloatArray
from gapwatch.stats.distributions import norm_cdf, norm_ppf, norm_sf

__all__ = [
    "Budget",
    "benjamini_hochberg",
    "cusum_arl",
    "ewma_arl",
    "limits_for_budget",
    "point_pvalues",
    "shewhart_arl",
]


@dataclass(frozen=True)
class Budget:
    """The per-stream design that meets a workspace false-alarm budget."""

    chart: str
    n_streams: int
    alarms_per_week: float
    per_point_rate: float
    arl0: float
    L: float | None = None
    h: float | None = None
    lam: float | None = None
    k: float | None = None


def _ndtr(x: FloatArray) -> FloatArray:
    """Normal CDF on large arrays: scipy's ndtr (imported on first use, not at CLI start)."""
    from scipy.special import ndtr

    return np.asarray(ndtr(x), dtype=float)


def shewhart_arl(L: float, delta: float = 0.0) -> float:
    """ARL of a two-sided L-sigma Shewhart chart at a shift of ``delta`` sigma."""
    p = float(norm_sf(L - delta) + norm_cdf(-L - delta))
    return 1.0 / p


def ewma_arl(lam: float, L: float, delta: float = 0.0, m: int = 201) -> float:
    """Zero-state ARL of a two-sided EWMA with asymptotic limits (Markov chain, m states)."""
    h = L * math.sqrt(lam / (2 - lam))
    edges = np.linspace(-h, h, m + 1)
    mid = (edges[:-1] + edges[1:]) / 2
    start = (1 - lam) * mid[:, None]
    cdf = _ndtr((edges[None, :] - start) / lam - delta)
    q = cdf[:, 1:] - cdf[:, :-1]
    arl = np.linalg.solve(np.eye(m) - q, np.ones(m))
    return float(np.interp(0.0, mid, arl))


def _one_sided_cusum_arl(k: float, h: float, delta: float, m: int) -> float:
    w = h / (m - 0.5)  # state 0 is the atom at 0; states j hold (j - 0.5)w .. (j + 0.5)w
    centers = np.arange(m) * w
    upper = (np.arange(m) + 0.5) * w
    c = _ndtr(upper[None, :] - centers[:, None] + k - delta)
    q = np.diff(np.concatenate([np.zeros((m, 1)), c], axis=1), axis=1)
    arl = np.linalg.solve(np.eye(m) - q, np.ones(m))
    return float(arl[0])


def cusum_arl(k: float, h: float, delta: float = 0.0, m: int = 301) -> float:
    """Zero-state ARL of a two-sided tabular CUSUM (Brook & Evans chain per side, combined
    as 1/ARL = 1/ARL⁺ + 1/ARL⁻, Lucas & Crosier 1982)."""
    up = _one_sided_cusum_arl(k, h, delta, m)
    down = _one_sided_cusum_arl(k, h, -delta, m)
    return 1.0 / (1.0 / up + 1.0 / down)


def _solve(fn: object, target: float, lo: float, hi: float) -> float:
    f = fn  # increasing in its argument
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if f(mid) < target else (lo, mid)  # type: ignore[operator]
        if hi - lo < 5e-4:
            break
    return round((lo + hi) / 2, 3)


def limits_for_budget(
    n_streams: int,
    periods_per_week: float = 7.0,
    alarms_per_week: float = 1.0,
    chart: Literal["shewhart", "ewma", "cusum"] = "shewhart",
    lam: float = 0.2,
    k: float = 0.5,
) -> Budget:
    """The chart parameter giving each stream ARL₀ = S·periods_per_week/alarms_per_week.

    Examples
    --------
    >>> b = limits_for_budget(1000)           # 1,000 daily streams, 1 false alarm a week
    >>> round(b.arl0), round(b.L, 2)
    (7000, 3.8)
    """
    if n_streams < 1 or periods_per_week <= 0 or alarms_per_week <= 0:
        raise ValueError("need n_streams >= 1, periods_per_week > 0 and alarms_per_week > 0")
    rate = min(alarms_per_week / (n_streams * periods_per_week), 0.5)
    arl0 = 1.0 / rate
    base = {
        "chart": chart,
        "n_streams": n_streams,
        "alarms_per_week": alarms_per_week,
        "per_point_rate": rate,
        "arl0": arl0,
    }
    if chart == "shewhart":
        return Budget(**base, L=-norm_ppf(rate / 2))  # type: ignore[arg-type]
    if chart == "ewma":
        L = _solve(lambda x: ewma_arl(lam, x), arl0, 0.5, 6.0)
        return Budget(**base, L=L, lam=lam)  # type: ignore[arg-type]
    h = _solve(lambda x: cusum_arl(k, x), arl0, 0.1, 30.0)
    return Budget(**base, h=h, k=k)  # type: ignore[arg-type]


def point_pvalues(result: ChartResult) -> FloatArray:
    """Two-sided normal-theory p-value of each point of a Shewhart-type result (S, T)."""
    se = result.extra.get("se")
    if se is None:
        raise ValueError("this chart has no per-point standard error (use ARL₀ allocation)")
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.abs(result.statistic - result.center) / se
    return np.asarray(
        np.where(np.isnan(z), np.nan, 2.0 * norm_sf(np.where(np.isnan(z), 0.0, z))), dtype=float
    )


def benjamini_hochberg(pvalues: ArrayLike, q: float = 0.05, axis: int = 0) -> BoolArray:
    """Reject by Benjamini-Hochberg at FDR ``q`` along ``axis`` (default: across streams,
    separately for each period); NaN p-values are not tests."""
    p = np.moveaxis(np.asarray(pvalues, dtype=float), axis, 0)
    valid = ~np.isnan(p)
    m = valid.sum(axis=0)
    order = np.argsort(np.where(valid, p, np.inf), axis=0)
    ranked = np.take_along_axis(np.where(valid, p, np.inf), order, axis=0)
    ranks = np.arange(1, p.shape[0] + 1).reshape((-1,) + (1,) * (p.ndim - 1))
    ok = ranked <= q * ranks / np.maximum(m, 1)
    last = np.where(ok.any(axis=0), p.shape[0] - 1 - np.argmax(ok[::-1], axis=0), -1)
    reject_sorted = ranks - 1 <= last
    out: NDArray[np.bool_] = np.zeros(p.shape, dtype=bool)
    np.put_along_axis(out, order, reject_sorted, axis=0)
    return np.moveaxis(out & valid, 0, axis)
