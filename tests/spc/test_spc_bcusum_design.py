"""The Bernoulli CUSUM's lattice design: its ARL against an exact dense solve and a simulation.

The design (``gapwatch.detectors.bcusum_lattice``) claims three things, each tested here:
the fast ARL curve (d = 1) and the banded solve (d > 1) are the exact Markov chain of the chart
(equal to a dense solve of the same chain); the threshold is the smallest lattice point whose
in-control ARL reaches ARL₀, and the excess over ARL₀ is one lattice step at most; the chart as
``judge_events`` runs it (floating-point B, restart after a signal) has that ARL (simulation).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from scipy import stats

from gapwatch.detectors.bcusum import bernoulli_cusum_arl, bernoulli_gamma
from gapwatch.detectors.bcusum_lattice import (
    LATTICE_TOL,
    arl_curve,
    bernoulli_design,
    lattice,
    lattice_arl,
)
from gapwatch.monitor.events import EventPlan, EventSequences, bcusum_design, judge_events


def dense_arl(p: float, d: int, g: int, k: int) -> float:
    """Zero-state ARL of the lattice chain by a dense solve: (I - Q) L = 1 over states 0..k-1."""
    u, q = g - d, 1.0 - p
    a = np.eye(k)
    for s in range(k):
        if s + u < k:
            a[s, s + u] -= p
        a[s, max(s - d, 0)] -= q
    return float(np.linalg.solve(a, np.ones(k))[0])


@pytest.mark.parametrize(("p", "g"), [(0.01, 70), (0.003, 231), (0.05, 15), (0.2, 3), (0.0005, 1387)])
def test_the_arl_curve_is_the_exact_chain(p: float, g: int) -> None:
    curve = arl_curve(p, g, 1e7)
    assert curve[-1] >= 1e7 and np.all(np.diff(curve) >= 0)
    for k in sorted({1, g - 1, g, g + 1, 2 * g + 3, curve.size // 2, curve.size}):
        if k <= 1500:  # a dense solve beyond that is slow, not wrong
            assert curve[k - 1] == pytest.approx(dense_arl(p, 1, g, k), rel=1e-9)
    assert curve[0] == pytest.approx(1 / p)  # threshold within one jump: the first miss signals


@pytest.mark.parametrize(("p", "d", "g"), [(0.1, 7, 51), (0.3, 17, 45), (0.03, 2, 77), (0.5, 24, 41)])
def test_the_banded_solve_is_the_exact_chain(p: float, d: int, g: int) -> None:
    for k in (1, g - d, g, 3 * g + 1, 8 * g):
        assert lattice_arl(p, d, g, k) == pytest.approx(dense_arl(p, d, g, k), rel=1e-9)


@pytest.mark.parametrize("gamma", [1.44e-4, 0.0014419, 0.0101, 0.02, 0.026, 0.04, 0.1375, 0.3785, 0.5, 0.585])
def test_the_lattice_keeps_gamma_within_tolerance_in_lowest_terms(gamma: float) -> None:
    d, g = lattice(gamma)
    assert abs(d / g - gamma) <= LATTICE_TOL * gamma
    assert np.gcd(d, g) == 1 and g >= 40  # B visits every multiple of 1/g: steps of 1/40 at most


def test_the_threshold_is_the_smallest_lattice_point_reaching_arl0() -> None:
    rng = np.random.default_rng(5)
    excess = []
    for _ in range(60):
        p = float(10 ** rng.uniform(-4, np.log10(0.5)))
        arl0 = float(10 ** rng.uniform(np.log10(4 / p), 6.5))  # room for a few misses
        design = bernoulli_design(p, arl0)
        if design.d == 1:  # the curve (exact: test above) gives both neighbours
            below, at = arl_curve(p, design.g, arl0)[design.k - 2 : design.k]
        else:
            below, at = (lattice_arl(p, design.d, design.g, k) for k in (design.k - 1, design.k))
        if design.k <= 800:
            at = dense_arl(p, design.d, design.g, design.k)
        assert design.arl == pytest.approx(at, rel=1e-8)
        assert design.arl >= arl0  # the stated false-alarm rate is never exceeded
        assert below < arl0  # … and h is no larger than needed
        excess.append(design.arl / arl0)
    assert max(excess) < 1.15 and float(np.median(excess)) < 1.01  # one lattice step (docs/spc figures)


def test_below_one_miss_the_chart_cannot_be_quicker_than_the_first_miss() -> None:
    design = bernoulli_design(1e-3, 300.0)  # ARL₀ far below 1/p₀: signal on the first miss
    assert design.arl == pytest.approx(1000.0) and design.h < 1.0


def test_the_fine_chain_of_the_old_design_agrees_on_the_lattice_chart() -> None:
    p = 0.02
    design = bernoulli_design(p, 2000.0)
    fine = bernoulli_cusum_arl(p, design.gamma, design.h)  # Brook & Evans on a 100-per-γ grid
    assert fine == pytest.approx(design.arl, rel=0.02)
    odds = p / (1 - p) * 2.0
    assert design.gamma == pytest.approx(bernoulli_gamma(p, odds / (1 + odds)), rel=LATTICE_TOL)


def _plan(p0: float, arl0: float, streams: int) -> EventPlan:
    events = 999.0  # p0 = (misses + ½) / (events + 1)
    per_week = arl0 * 2 * stats.norm.sf(3.0)  # judge_events: ARL₀ = events a week / 2Φ(-L)
    return EventPlan(
        rows=np.arange(streams, dtype=np.intp),
        keys=[("m", f"s{i}", "x") for i in range(streams)],
        baseline_events=np.full(streams, events),
        baseline_misses=np.full(streams, p0 * (events + 1) - 0.5),
        events_per_week=np.full(streams, per_week),
        baseline_start=[dt.date(2000, 1, 1)] * streams,
        baseline_end=[dt.date(2000, 1, 1)] * streams,
        reason=["test"] * streams,
        override=np.zeros(streams, dtype=bool),
    )


@pytest.mark.parametrize(("p0", "arl0"), [(0.01, 600.0), (0.1, 300.0)])
def test_the_chart_as_judged_has_the_designed_arl(p0: float, arl0: float) -> None:
    streams, events = 100, 30_000
    rng = np.random.default_rng(11)
    miss = rng.random((streams, events)) < p0
    seq = EventSequences(
        np.repeat(np.arange(streams, dtype=np.int64), events),
        np.full(streams * events, 20_000, dtype=np.int64),  # every event after the baseline
        miss.ravel(),
    )
    judged = judge_events(_plan(p0, arl0, streams), seq, L=3.0)
    gamma, h = bcusum_design(np.array([p0]), np.array([arl0]))
    assert np.all(judged.h == h[0]) and np.all(judged.gamma == gamma[0])
    runs = np.concatenate([np.diff(np.r_[-1, np.flatnonzero(row)]) for row in judged.signal])
    expected = bernoulli_design(p0, arl0).arl
    se = runs.std(ddof=1) / np.sqrt(runs.size)
    assert runs.size > 3000
    assert abs(runs.mean() - expected) < 4 * se, (runs.mean(), expected, se)
