"""Bernoulli CUSUM designed on a lattice, so that its Markov chain is exact and cheap.

The chart B_t = max(0, B_{t-1} + X_t - γ) (Reynolds & Stoumbos 1999) moves by +(1-γ) on a miss
and -γ otherwise.  When γ is a fraction d/g, B lives on the lattice of multiples of 1/g, so
the Markov chain of B in units of 1/g (up u = g-d, down d, floored at 0) is *exact*: no grid
error.  Reynolds & Stoumbos make the same choice (an integer 1/γ) to get exact run lengths.
The design keeps γ within ``tol`` (0.5 %) of their likelihood-ratio optimum, which moves only
the tuned shift p₁ (by less than the estimate of p₀ moves it), never the false-alarm rate.

The decision limit is a lattice point: with the integer threshold k, B signals when it reaches
k/g; the limit handed to the chart is h = (k - ½)/g, half a lattice step lower, so that
floating-point sums of ±γ can never miss or fake a crossing.

Run lengths, in experiences, from B = 0:

* d = 1 (γ ≤ 1 %, the thin streams with p₀ below about 0.7 %, whose chains are longest): the
  chain is skip-free downwards, so the ARL for *every* threshold k comes from one pass over k
  (:func:`arl_curve`): two sequences obeying X(j+1) = a·(sum of the last u values) + b, computed
  block-wise with numpy, all terms of one sign (no cancellation).  A curve up to ARL 10⁹ takes
  about a millisecond, even for p₀ = 10⁻⁴ (tens of thousands of states), where the banded
  solver of the fine chain took seconds and gigabytes.
* d > 1 (γ > 1 %): the chain has at most a few thousand states and a narrow band; each
  threshold is one banded solve (:func:`lattice_arl`) and k is found by bisection.

Both are checked against a dense solve of the same chain in the tests, and the whole design
against a simulation of the chart (``tests/spc/test_spc_bcusum_design.py``).
"""

from __future__ import annotations

import functools
import math
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "G_MIN",
    "LATTICE_TOL",
    "BernoulliDesign",
    "arl_curve",
    "averaged_design",
    "bernoulli_design",
    "bernoulli_gamma",
    "lattice",
    "lattice_arl",
]

FloatArray = NDArray[np.float64]
LATTICE_TOL = 0.005  # largest relative distance of γ = d/g from the likelihood-ratio γ
G_MIN = 40  # the coarsest lattice: steps of B of 1/40 at most
H_MAX = 60.0  # no design beyond this limit (an ARL₀ no stream could reach)
_CURVE_FLOATS = 4_000_000  # the curves kept in memory (32 MB at most)


def bernoulli_gamma(p0: float, p1: float) -> float:
    """The reference value γ of the scaled Bernoulli CUSUM (between p0 and p1)."""
    if not 0 < p0 < p1 < 1:
        raise ValueError(f"need 0 < p0 < p1 < 1, got p0={p0}, p1={p1}")
    return math.log((1 - p0) / (1 - p1)) / math.log(p1 * (1 - p0) / (p0 * (1 - p1)))


@dataclass(frozen=True, slots=True)
class BernoulliDesign:
    """A Bernoulli CUSUM on the lattice of 1/g: γ = d/g, signal when B ≥ k/g (h = (k-½)/g)."""

    p0: float  # the in-control miss rate the chain was solved for
    d: int
    g: int
    k: int
    arl: float  # exact in-control ARL (experiences) at p0

    @property
    def gamma(self) -> float:
        return self.d / self.g

    @property
    def h(self) -> float:
        return (self.k - 0.5) / self.g


def lattice(gamma: float, tol: float = LATTICE_TOL, g_min: int = G_MIN) -> tuple[int, int]:
    """The fraction d/g in lowest terms, g ≥ ``g_min``, within ``tol`` (relative) of ``gamma``, smallest d.

    B then visits multiples of 1/g; ``g_min`` keeps that lattice fine, so that one step of the
    threshold moves the ARL by a few per cent at most.

    Examples
    --------
    >>> lattice(0.0014419), lattice(0.1375035), lattice(0.04)
    ((1, 694), (7, 51), (8, 201))
    """
    if not 0 < gamma < 1:
        raise ValueError(f"need 0 < gamma < 1, got {gamma}")
    d = 1
    while True:  # ends: once the window of g below holds two consecutive integers, one is coprime to d
        lo, hi = d / (gamma * (1 + tol)), d / (gamma * (1 - tol))
        fits = [
            g
            for g in range(max(math.ceil(lo), g_min, d + 1), math.floor(hi) + 1)
            if math.gcd(d, g) == 1 and abs(d / g - gamma) <= tol * gamma
        ]
        if fits:
            return d, min(fits, key=lambda g: abs(d / g - gamma))
        d += 1


def lattice_arl(p: float, d: int, g: int, k: int) -> float:
    """Exact zero-state ARL of the lattice chain (up g-d, down d, floor 0, signal at ≥ k): a banded solve."""
    from scipy.linalg import solve_banded

    u = g - d
    if k <= u:
        return 1.0 / p  # any miss from 0 signals: a geometric wait
    q = 1.0 - p
    ab = np.zeros((d + u + 1, k))  # ab[u + i - j, j] = A[i, j]
    ab[u, :] = 1.0
    ab[u, 0] = 1.0 - q  # from 0 a non-miss stays at 0
    rows = np.arange(k)
    up = rows + u < k
    ab[0, rows[up] + u] = -p  # A[i, i+u] sits at ab[u + i - (i+u), i+u] = ab[0, i+u]
    low = rows >= d
    ab[u + d, rows[low] - d] = -q  # A[i, i-d]
    for s in range(1, min(d, k)):  # floored: a non-miss below d lands on 0
        ab[u + s, 0] = -q
    return float(
        solve_banded((d, u), ab, np.ones(k), overwrite_ab=True, overwrite_b=True, check_finite=False)[0]
    )


def _window_block(prev: FloatArray, a: float, b: float, rho_pow: FloatArray) -> FloatArray:
    """The next u values of X(j+1) = a·(X(j-u+1) + … + X(j)) + b, given the previous u values."""
    tail = np.cumsum(prev[::-1])[::-1]  # R(t) = prev[t] + … + prev[u-1]
    w = a * tail + b
    inner = np.cumsum(w / rho_pow)  # E(t) = Σ_{s<t} ρ^(t-1-s) w(s), ρ = 1 + a
    e = np.concatenate([[0.0], inner[:-1] * rho_pow[:-1]])
    out: FloatArray = w + a * e
    return out


def arl_curve(p: float, g: int, arl_max: float, k_max: int | None = None) -> FloatArray:
    """ARL (experiences) of the d = 1 lattice chart for thresholds k = 1, 2, … until it reaches ``arl_max``.

    Element k-1 is the zero-state ARL when B signals at k/g (γ = 1/g).  The chain read from the
    top, M(j) = L(k-j), obeys M(j+1) = (M(j) - 1 - p·M(j-u))/q and M(k) - M(k-u) = 1/p; with the
    differences D of the homogeneous and G of the particular solution this gives
    ARL(k) = W(k)·|G(k+1)|/D(k+1) - |A(k)| (W, A the running sums of D, G), every sequence of
    one sign.
    """
    u = g - 1
    if u < 1 or not 0 < p < 1:
        raise ValueError(f"need g ≥ 2 and 0 < p < 1, got g={g}, p={p}")
    q = 1.0 - p
    a = p / q
    k_max = k_max or math.ceil(H_MAX * g)
    rho_pow = (1.0 / q) ** np.arange(u, dtype=float)  # ≤ e at most: p·u < p/γ < 1
    d_prev = np.zeros(u)
    d_prev[-1] = 1.0  # D(1) = 1
    g_prev = np.zeros(u)  # G(1) = 0
    d_parts, g_parts = [np.array([1.0])], [np.array([0.0])]
    total = 1
    arls: list[FloatArray] = []
    w_sum, a_sum = 0.0, 0.0
    done = 0  # thresholds whose ARL is known
    while True:
        d_prev = _window_block(d_prev, a, 0.0, rho_pow)
        g_prev = _window_block(g_prev, a, -1.0 / q, rho_pow)
        d_parts.append(d_prev)
        g_parts.append(g_prev)
        total += u
        dd = np.concatenate(d_parts)
        gg = np.concatenate(g_parts)
        d_parts, g_parts = [dd], [gg]
        # ARL(k) for k = done+1 .. total-1 (needs D(k+1), G(k+1))
        ks = np.arange(done + 1, total)
        wk = w_sum + np.cumsum(dd[done : total - 1])
        ak = a_sum + np.cumsum(gg[done : total - 1])
        arl = wk * (-gg[ks]) / dd[ks] + ak
        arls.append(arl)
        w_sum, a_sum = float(wk[-1]), float(ak[-1])
        done = total - 1
        if arl[-1] >= arl_max or done >= k_max:
            # monotone in k by coupling; the flat start (1/p) carries rounding of 1e-16 either way
            out: FloatArray = np.maximum.accumulate(np.concatenate(arls)[:k_max])
            return out


class _Curves:
    """The d = 1 ARL curves computed so far, least recently used dropped beyond a size."""

    def __init__(self, max_floats: int) -> None:
        self.max_floats = max_floats
        self._curves: OrderedDict[tuple[float, int], FloatArray] = OrderedDict()
        self._size = 0

    def get(self, p: float, g: int, arl0: float) -> FloatArray:
        key = (p, g)
        curve = self._curves.get(key)
        if curve is not None and (curve[-1] >= arl0 or curve.size >= H_MAX * g):
            self._curves.move_to_end(key)
            return curve
        if curve is not None:
            self._drop(key)
        curve = arl_curve(p, g, arl0 * 4.0)  # headroom: the next runs' ARL₀ are near this one
        self._curves[key] = curve
        self._size += curve.size
        while self._size > self.max_floats and len(self._curves) > 1:
            self._drop(next(iter(self._curves)))
        return curve

    def _drop(self, key: tuple[float, int]) -> None:
        self._size -= self._curves.pop(key).size


_CURVES = _Curves(_CURVE_FLOATS)


def _threshold_d1(p: float, g: int, arl0: float) -> tuple[int, float]:
    curve = _CURVES.get(p, g, arl0)
    k = int(np.searchsorted(curve, arl0, side="left")) + 1  # the first k whose ARL reaches arl0
    if k > curve.size:
        raise ValueError(f"ARL₀ {arl0:g} is out of reach for p0={p:g} (h > {H_MAX:g})")
    return k, float(curve[k - 1])


@functools.lru_cache(maxsize=8192)
def _threshold_banded(p: float, d: int, g: int, arl0: float) -> tuple[int, float]:
    """The first k whose ARL reaches ``arl0``: a guess, a bracket, then steps on log ARL.

    The guess is the threshold of the nearest unit-fraction chart (γ ≈ 1/g₁, whose ARL curve
    costs a fraction of a millisecond); it lands within a few steps, so a design takes about
    four banded solves instead of ten.
    """
    g1 = max(2, round(g / d))
    k1 = int(np.searchsorted(_CURVES.get(p, g1, arl0), arl0)) + 1
    guess = min(max(1, round((k1 - 0.5) * g / g1)), math.floor(H_MAX * g))
    step = max(1, g // 8)
    arl = lattice_arl(p, d, g, guess)
    if arl < arl0:  # walk up, doubling the step, to the first point that reaches arl0
        lo, arl_lo = guess, arl
        while True:
            hi = lo + step
            if hi > H_MAX * g:
                raise ValueError(f"ARL₀ {arl0:g} is out of reach for p0={p:g} (h > {H_MAX:g})")
            arl_hi = lattice_arl(p, d, g, hi)
            if arl_hi >= arl0:
                break
            lo, arl_lo, step = hi, arl_hi, step * 2
    else:  # walk down to a point below it (ARL(0) = 1: B ≥ 0 signals at once)
        hi, arl_hi = guess, arl
        while True:
            lo = max(0, hi - step)
            arl_lo = lattice_arl(p, d, g, lo) if lo else 1.0
            if arl_lo < arl0:
                break
            hi, arl_hi, step = lo, arl_lo, step * 2
    bisect = False
    while hi - lo > 1:
        if bisect:
            mid = (lo + hi) // 2
        else:  # interpolate log ARL (about linear in k)
            frac = math.log(arl0 / arl_lo) / math.log(arl_hi / arl_lo)
            mid = min(hi - 1, max(lo + 1, math.ceil(lo + frac * (hi - lo))))
        arl = lattice_arl(p, d, g, mid)
        if arl < arl0:
            lo, arl_lo = mid, arl
        else:
            hi, arl_hi = mid, arl
        bisect = not bisect  # alternate: fast when log ARL is straight, never slower than bisection ×2
    return hi, arl_hi


def bernoulli_design(
    p0: float, arl0: float, odds_ratio: float = 2.0, tol: float = LATTICE_TOL
) -> BernoulliDesign:
    """The lattice design for in-control rate ``p0``, shift ``odds_ratio`` and in-control ARL ``arl0``.

    The threshold is the smallest lattice point whose exact ARL at ``p0`` reaches ``arl0``.

    Examples
    --------
    >>> d = bernoulli_design(0.001, 37_000.0)
    >>> (d.d, d.g), round(d.h, 3), d.arl >= 37_000.0
    ((1, 693), 3.576, True)
    """
    if not 0 < p0 < 1 or not arl0 >= 1:
        raise ValueError(f"need 0 < p0 < 1 and arl0 ≥ 1, got p0={p0}, arl0={arl0}")
    odds = p0 / (1 - p0) * odds_ratio
    d, g = lattice(bernoulli_gamma(p0, odds / (1 + odds)), tol)
    k, arl = _threshold_d1(p0, g, arl0) if d == 1 else _threshold_banded(p0, d, g, arl0)
    return BernoulliDesign(p0, d, g, k, arl)


def averaged_design(
    p0: float,
    arl0: float,
    points: tuple[float, ...],
    weights: tuple[float, ...],
    odds_ratio: float = 2.0,
    tol: float = LATTICE_TOL,
) -> BernoulliDesign:
    """The lattice chart tuned to ``p0`` whose false-alarm rate averaged over ``points`` is ≤ 1/``arl0``.

    ``points`` are miss rates the true one may be (p₀'s posterior at quadrature nodes) with
    their ``weights``: the in-control ARL then holds on average over the baseline's estimation
    error (the unconditional performance), not only when the estimate hit the true rate. The
    threshold is the smallest lattice point k with Σ wᵢ / ARL(pᵢ, k) ≤ 1/ARL₀; ``arl`` is the
    averaged ARL there.

    Examples
    --------
    >>> plain = bernoulli_design(0.01, 5_000.0)
    >>> spread = averaged_design(0.01, 5_000.0, (0.006, 0.01, 0.016), (1 / 6, 2 / 3, 1 / 6))
    >>> (spread.d, spread.g) == (plain.d, plain.g), spread.k > plain.k, spread.arl >= 5_000.0
    (True, True, True)
    """
    if not 0 < p0 < 1 or not arl0 >= 1 or not all(0 < q < 1 for q in points):
        raise ValueError(f"need 0 < p0, points < 1 and arl0 ≥ 1, got p0={p0}, points={points}, arl0={arl0}")
    odds = p0 / (1 - p0) * odds_ratio
    d, g = lattice(bernoulli_gamma(p0, odds / (1 + odds)), tol)
    if d == 1:
        # each curve runs until its ARL passes 4·ARL₀ (monotone in k): past its end it is counted
        # at its last value, which overstates the rate (a threshold no lower than needed)
        curves = [_CURVES.get(q, g, arl0) for q in points]
        width = max(c.size for c in curves)
        padded = np.stack([np.pad(c, (0, width - c.size), mode="edge") for c in curves])
        rate = np.asarray(weights) @ (1.0 / padded)
        ok = np.flatnonzero(rate <= 1.0 / arl0)
        if not ok.size:
            raise ValueError(f"ARL₀ {arl0:g} is out of reach for p0={p0:g} (h > {H_MAX:g})")
        k = int(ok[0]) + 1
        return BernoulliDesign(p0, d, g, k, float(1.0 / rate[k - 1]))

    def averaged(k: int) -> float:
        return 1.0 / sum(w / lattice_arl(q, d, g, k) for q, w in zip(points, weights, strict=True))

    lo = _threshold_banded(p0, d, g, arl0)[0] - 1  # the plain design: usually a little below
    step = max(1, g // 8)
    while lo > 0 and averaged(lo) >= arl0:
        lo = max(0, lo - step)
    hi = lo + step
    while averaged(hi) < arl0:
        lo, hi, step = hi, hi + 2 * step, step * 2
        if hi > H_MAX * g:
            raise ValueError(f"ARL₀ {arl0:g} is out of reach for p0={p0:g} (h > {H_MAX:g})")
    while hi - lo > 1:  # averaged(lo) < arl0 <= averaged(hi)
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if averaged(mid) >= arl0 else (mid, hi)
    return BernoulliDesign(p0, d, g, hi, averaged(hi))
