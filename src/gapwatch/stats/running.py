"""Mergeable running statistics over many streams at once.

Each statistic holds one value per stream (numpy arrays of shape ``(S,)``) and supports
``update`` (feed a batch), ``merge`` (combine two partial results, e.g. two time ranges or
two workers) and ``from_sums`` (load from the sufficient statistics an aggregation engine
returns: count, sum, sum of squares).  Merging two statistics equals feeding one statistic
both streams of data (Chan, Golub & LeVeque 1979 for the pairwise variance update).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["Moments", "Proportion"]

FloatArray = NDArray[np.float64]


def _as_2d(values: ArrayLike) -> FloatArray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"expected an array of shape (streams, k), got shape {arr.shape}")
    return arr


@dataclass
class Moments:
    """Count, mean and sum of squared deviations per stream (Welford / Chan form).

    Parameters
    ----------
    n, mean, m2 : ndarray of shape (S,)
        Count, mean and sum of squared deviations from the mean.

    Examples
    --------
    >>> m = Moments.empty(2).update([[1.0, 2.0, 3.0], [4.0, float("nan"), 6.0]])
    >>> m.mean.tolist(), m.var().tolist()
    ([2.0, 5.0], [1.0, 2.0])
    """

    n: FloatArray
    mean: FloatArray
    m2: FloatArray

    @classmethod
    def empty(cls, n_streams: int) -> Moments:
        """Statistics of ``n_streams`` streams that have seen nothing yet."""
        z = np.zeros(n_streams)
        return cls(z.copy(), z.copy(), z.copy())

    @classmethod
    def from_sums(cls, n: ArrayLike, total: ArrayLike, total_sq: ArrayLike) -> Moments:
        """Load from count, sum and sum of squares (what SQL aggregates return)."""
        cnt = np.asarray(n, dtype=float)
        s = np.asarray(total, dtype=float)
        ss = np.asarray(total_sq, dtype=float)
        safe = np.where(cnt > 0, cnt, 1.0)
        mean = np.where(cnt > 0, s / safe, 0.0)
        m2 = np.maximum(ss - s * mean, 0.0)
        return cls(cnt.copy(), mean, np.where(cnt > 0, m2, 0.0))

    @classmethod
    def of(cls, values: ArrayLike) -> Moments:
        """Statistics of a batch of shape (S, k); NaN marks a missing value."""
        x = _as_2d(values)
        ok = ~np.isnan(x)
        n = ok.sum(axis=1).astype(float)
        safe = np.where(n > 0, n, 1.0)
        mean = np.where(ok, x, 0.0).sum(axis=1) / safe
        dev = np.where(ok, x - mean[:, None], 0.0)
        return cls(n, np.where(n > 0, mean, 0.0), (dev * dev).sum(axis=1))

    def update(self, values: ArrayLike) -> Moments:
        """Feed a batch of shape (S, k) (or (S,) for one value per stream); returns self."""
        other = Moments.of(values)
        merged = self.merge(other)
        self.n, self.mean, self.m2 = merged.n, merged.mean, merged.m2
        return self

    def merge(self, other: Moments) -> Moments:
        """The statistics of both inputs together (a new object)."""
        n = self.n + other.n
        safe = np.where(n > 0, n, 1.0)
        delta = other.mean - self.mean
        mean = np.where(n > 0, self.mean + delta * other.n / safe, 0.0)
        m2 = self.m2 + other.m2 + delta * delta * self.n * other.n / safe
        return Moments(n, mean, m2)

    def var(self, ddof: int = 1) -> FloatArray:
        """Variance per stream (NaN where ``n <= ddof``)."""
        den = self.n - ddof
        return np.where(den > 0, self.m2 / np.where(den > 0, den, 1.0), np.nan)

    def std(self, ddof: int = 1) -> FloatArray:
        """Standard deviation per stream (NaN where ``n <= ddof``)."""
        return np.sqrt(self.var(ddof))


@dataclass
class Proportion:
    """Events and trials per stream (misses out of experiences).

    Examples
    --------
    >>> p = Proportion.empty(1).update([3], [10]).update([1], [10])
    >>> p.p.tolist()
    [0.2]
    """

    x: FloatArray
    n: FloatArray

    @classmethod
    def empty(cls, n_streams: int) -> Proportion:
        """Statistics of ``n_streams`` streams that have seen nothing yet."""
        return cls(np.zeros(n_streams), np.zeros(n_streams))

    def update(self, x: ArrayLike, n: ArrayLike) -> Proportion:
        """Add counts and sizes of shape (S,) or (S, k); NaN counts are skipped; returns self."""
        xs, ns = _as_2d(x), _as_2d(n)
        ok = ~(np.isnan(xs) | np.isnan(ns))
        self.x = self.x + np.where(ok, xs, 0.0).sum(axis=1)
        self.n = self.n + np.where(ok, ns, 0.0).sum(axis=1)
        return self

    def merge(self, other: Proportion) -> Proportion:
        """Both inputs together (a new object)."""
        return Proportion(self.x + other.x, self.n + other.n)

    @property
    def p(self) -> FloatArray:
        """Pooled proportion per stream (NaN with no trials)."""
        return np.where(self.n > 0, self.x / np.where(self.n > 0, self.n, 1.0), np.nan)
