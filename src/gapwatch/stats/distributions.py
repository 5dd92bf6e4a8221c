"""Small distribution helpers without scipy (so the CLI starts fast).

The normal CDF uses ``math.erfc`` (accurate in the tails), its inverse the standard
library's ``statistics.NormalDist``; the chi-square tail uses the Wilson-Hilferty cube-root
approximation (Wilson & Hilferty 1931), accurate to a few per cent of the p-value for
df >= 5, ample for a dispersion screen; the binomial quantile is exact.
"""

from __future__ import annotations

import math
from functools import lru_cache
from statistics import NormalDist

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["chi2_sf", "norm_cdf", "norm_ppf", "norm_sf", "qbinom"]

_erfc = np.frompyfunc(math.erfc, 1, 1)


def norm_sf(x: ArrayLike) -> NDArray[np.float64]:
    """Upper tail ``P(Z > x)`` of the standard normal, elementwise."""
    arr = np.asarray(x, dtype=float)
    return np.asarray(_erfc(arr / math.sqrt(2.0)), dtype=float) / 2.0


def norm_cdf(x: ArrayLike) -> NDArray[np.float64]:
    """``P(Z <= x)`` of the standard normal, elementwise."""
    return norm_sf(-np.asarray(x, dtype=float))


def norm_ppf(q: float) -> float:
    """Quantile of the standard normal."""
    return NormalDist().inv_cdf(q)


def chi2_sf(x: ArrayLike, df: ArrayLike) -> NDArray[np.float64]:
    """Upper tail of chi-square (Wilson-Hilferty); NaN where ``df < 1``."""
    xs = np.asarray(x, dtype=float)
    d = np.asarray(df, dtype=float)
    ok = (d >= 1) & (xs >= 0)
    dd = np.where(ok, d, 1.0)
    h = 2.0 / (9.0 * dd)
    z = ((np.where(ok, xs, 0.0) / dd) ** (1.0 / 3.0) - (1.0 - h)) / np.sqrt(h)
    return np.where(ok, norm_sf(z), np.nan)


@lru_cache(maxsize=4096)
def _qbinom_half(q: float, n: int) -> int:
    total = 0.0
    log_half_n = n * math.log(0.5)
    for k in range(n + 1):
        total += math.exp(math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) + log_half_n)
        if total >= q * (1 - 64 * np.finfo(float).eps):  # R's qbinom fuzz
            return k
    return n


def qbinom(q: float, size: ArrayLike, prob: float = 0.5) -> NDArray[np.int64]:
    """Smallest k with ``P(Binomial(size, prob) <= k) >= q`` (R's ``qbinom``), elementwise.

    Only ``prob = 0.5`` is needed (Anhøj's crossings rule) and supported.
    """
    if prob != 0.5:
        raise ValueError("qbinom: only prob = 0.5 is supported")
    sizes = np.asarray(size, dtype=int)
    flat = [(_qbinom_half(q, int(n)) if n >= 0 else -1) for n in sizes.ravel()]
    return np.asarray(flat, dtype=np.int64).reshape(sizes.shape)
