"""Key drivers: each feature's share of the explained outcome, with bootstrap intervals.

Shares are relative weights (:mod:`gapwatch.insight.weights`) over the linear basis of
the features (value, spline bend, missing flag; category indicators), summed per feature
and divided by their total, so they add up to 1. Intervals are 95 % percentile bootstrap
intervals over resampled respondents. A share is bounded below by 0 and biased upwards in
small samples, so a weak driver's replicates can all lie above its estimate; the interval
is then widened down to the estimate rather than bias-corrected, because a bias-corrected
(BC) interval collapses onto the smallest replicates there and would claim a precision
the data do not have.

Large files are bootstrapped m-out-of-n (Bickel & Sakov 2008): replicates of
``MAX_BOOT_ROWS`` rows, their spread scaled by √(m/n) around the full-data estimate, which
keeps a 100,000-row survey to seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from threadpoolctl import threadpool_limits

from gapwatch.insight.encode import Basis, Features
from gapwatch.insight.weights import relative_weights

__all__ = ["Driver", "DriverResult", "key_drivers"]

Floats = npt.NDArray[np.float64]
MAX_BOOT_ROWS = 20_000


@dataclass(frozen=True, slots=True)
class Driver:
    name: str
    importance: float
    ci: tuple[float, float]


@dataclass(frozen=True, slots=True)
class DriverResult:
    drivers: list[Driver]
    r2: float  # the explained share the weights divide (R² or, for a binary outcome, R_O²)
    rows: int
    replicates: int
    binary: bool
    method: str = "relative weights (Johnson 2000; Tonidandel & LeBreton 2010 for binary outcomes)"


def key_drivers(
    features: Features, y: Floats, binary: bool, seed: int = 0, replicates: int = 200, level: float = 0.95
) -> DriverResult:
    """Rank ``features`` by their share of the explained outcome ``y`` (1/0 when ``binary``).

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> x = rng.normal(size=(500, 3))
    >>> y = (x[:, 0] + 0.5 * x[:, 1] + rng.logistic(size=500) > 0).astype(float)
    >>> f = Features(x, ("a", "b", "noise"), np.zeros(3, bool), ((), (), ()))
    >>> r = key_drivers(f, y, binary=True, replicates=50)
    >>> [d.name for d in r.drivers], round(sum(d.importance for d in r.drivers), 6)
    (['a', 'b', 'noise'], 1.0)
    """
    if replicates < 10:
        raise ValueError("at least 10 bootstrap replicates are needed for an interval")
    basis = Basis().fit(features)
    z, groups = basis.transform(features)
    k = len(features.names)
    # Many small eigen-decompositions: one BLAS thread each is fastest, and a busy machine's
    # spinning BLAS threads can make them 20x slower.
    with threadpool_limits(limits=1, user_api="blas"):
        full = relative_weights(z, y, groups, k, binary)
        r2, share = full.r2, _shares(full.raw)
        boot = _bootstrap(z, y, groups, k, binary, seed, replicates, share, full.coef)
    low, high = _interval(share, boot, level)
    order = np.argsort(-share, kind="stable")
    drivers = [Driver(features.names[j], float(share[j]), (float(low[j]), float(high[j]))) for j in order]
    return DriverResult(drivers, r2, len(y), replicates, binary)


def _shares(eps: Floats) -> Floats:
    total = float(eps.sum())
    if total <= 0:
        return np.full(eps.shape, 1.0 / eps.size)
    out: Floats = eps / total
    return out


def _bootstrap(
    z: Floats,
    y: Floats,
    groups: npt.NDArray[np.int64],
    k: int,
    binary: bool,
    seed: int,
    replicates: int,
    share: Floats,
    start: Floats,
) -> Floats:
    rng = np.random.default_rng(seed)
    n = len(y)
    m = min(n, MAX_BOOT_ROWS)
    out = np.empty((replicates, k))
    for b in range(replicates):
        idx = rng.integers(0, n, m)
        counts = np.bincount(idx, minlength=n).astype(np.float64)
        out[b] = _shares(relative_weights(z, y, groups, k, binary, counts, start).raw)
    if m < n:  # m-out-of-n: the replicates' spread is that of m rows; rescale to n rows
        out = share + (out - share) * np.sqrt(m / n)
    return out


def _interval(estimate: Floats, boot: Floats, level: float) -> tuple[Floats, Floats]:
    tail = (1.0 - level) / 2
    low = np.quantile(boot, tail, axis=0)
    high = np.quantile(boot, 1.0 - tail, axis=0)
    low = np.clip(np.minimum(low, estimate), 0.0, 1.0)
    high = np.clip(np.maximum(high, estimate), 0.0, 1.0)
    return low, high
