"""Known variation is not a signal, and the false-alarm rate of the risk-adjusted chart is the designed one.

In-control streams with a strong weekday rhythm of misses (Mondays 1.4×, weekends 0.7×): a flat
p chart flags the rhythm, the risk-adjusted chart (expected rate from the baseline's weekday
pattern, ``monitor/expected.py``) keeps its per-point false-alarm rate at the design, 2Φ(−L).
Likewise a parent stream whose segment mix moves: flat limits drift off, mix-adjusted ones do not.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from scipy.stats import norm

from gapwatch.config.schema import DetectionSection
from gapwatch.detectors.riskadjusted import risk_adjusted_p
from gapwatch.monitor.arrays import StreamArrays
from gapwatch.monitor.detect import miss_rate_chart
from gapwatch.monitor.expected import expected_levels

START = dt.date(2025, 1, 6)  # a Monday
WEEKDAY = np.array([1.4, 1.1, 1.0, 1.0, 0.9, 0.7, 0.7])
L = 3.0
NOMINAL = 2 * norm.sf(L)  # 0.0027 a point


def _arrays(n: np.ndarray, missed: np.ndarray, keys: list[tuple[str, str, str]]) -> StreamArrays:
    s, t = n.shape
    zeros = np.zeros((s, t))
    sums = {
        "n": n.astype(float),
        "missed": missed.astype(float),
        "exceeded": zeros,
        "sum_gap_norm": zeros,
        "sum_gap_norm2": zeros,
        "sum_value": zeros,
        "sum_value2": zeros,
        "n_gap": n.astype(float),
    }
    periods = np.datetime64(START, "D") + np.arange(t)
    level = ["moment" if k[1] == "*" else "segment" for k in keys]
    return StreamArrays(keys, level, periods, sums)


def _rate(flags: np.ndarray, after: np.ndarray) -> float:
    return float(flags[:, after].mean())


def test_weekday_rhythm_is_not_a_signal_and_the_rate_is_the_designed_one() -> None:
    rng = np.random.default_rng(2025)
    s, t = 400, 364
    dow = np.arange(t) % 7
    n = rng.poisson(1000, (s, t))  # n·p ≈ 30–56 a day: the normal approximation holds
    missed = rng.binomial(n, 0.04 * WEEKDAY[dow][None, :])
    keys = [("delivery", f"s{i}", "delivery_days") for i in range(s)]
    daily = _arrays(n, missed, keys)
    base = np.zeros((s, t), dtype=bool)
    base[:, :56] = True
    exp = expected_levels(daily, base, np.ones(s, dtype=bool), DetectionSection())
    assert (
        sum("weekday pattern" in note for note in exp.notes) >= 0.95 * s
    )  # clear in (nearly) every baseline
    after = np.arange(t) >= 56
    adjusted = miss_rate_chart(
        missed,
        n,
        base,
        L,
        laney=["never"] * s,
        rate=exp.rate,
        baseline_misses=exp.baseline_misses,
        revise=False,
        rel_var=exp.rel_var,
    )
    flat = miss_rate_chart(missed, n, base, L, laney=["never"] * s, revise=False)
    observed = _rate(adjusted.flags, after)
    assert 0.5 * NOMINAL < observed < 1.5 * NOMINAL  # 123,000 points: the design, give or take noise
    assert _rate(flat.flags, after) > 10 * NOMINAL  # the rhythm itself is flagged by flat limits
    monday = dow == 0
    assert (
        _rate(flat.flags, after & monday) > 50 * _rate(adjusted.flags, after & monday)
        or not adjusted.flags[:, after & monday].any()
    )


def test_a_parent_whose_segment_mix_moves_is_judged_against_the_mix() -> None:
    rng = np.random.default_rng(7)
    t = 364
    share = np.linspace(0.2, 0.6, t)  # the costly segment's share of events grows
    total = rng.poisson(1000, t)
    n_b = rng.binomial(total, share)
    n_a = total - n_b
    m_a, m_b = rng.binomial(n_a, 0.03), rng.binomial(n_b, 0.12)
    n = np.vstack([n_a + n_b, n_a, n_b])
    missed = np.vstack([m_a + m_b, m_a, m_b])
    keys = [("delivery", "*", "d"), ("delivery", "a", "d"), ("delivery", "b", "d")]
    daily = _arrays(n, missed, keys)
    base = np.zeros((3, t), dtype=bool)
    base[:, :56] = True
    exp = expected_levels(daily, base, np.ones(3, dtype=bool), DetectionSection(weekday="off"))
    assert exp.notes[0] == "segment mix"
    after = np.arange(t) >= 56
    parent = slice(0, 1)
    adjusted = risk_adjusted_p(missed[parent], n[parent], exp.rate[parent], base[parent], L, laney="never")
    flat = risk_adjusted_p(
        missed[parent],
        n[parent],
        np.full((1, t), missed[0, :56].sum() / n[0, :56].sum()),
        base[parent],
        L,
        laney="never",
    )
    assert _rate(flat.signals["we1"], after) > 0.5  # the mix alone pushes the parent past flat limits
    assert _rate(adjusted.signals["we1"], after) < 5 * NOMINAL


def test_with_a_flat_expected_rate_it_is_the_p_and_laney_chart() -> None:
    from gapwatch.detectors import PChart

    rng = np.random.default_rng(3)
    n = rng.integers(50, 400, (20, 120)).astype(float)
    p = rng.gamma(20, 0.05 / 20, (20, 1)) * rng.lognormal(0, 0.3, (20, 120))  # over-dispersed
    x = rng.binomial(n.astype(int), np.clip(p, 0, 1)).astype(float)
    base = np.zeros_like(n, dtype=bool)
    base[:, :40] = True
    for laney, mode in ((False, "never"), (True, "always")):
        ref = PChart(L=3.0, laney=laney, constants="table").fit_judge(x, n, baseline=base)
        pbar = np.where(base, x, 0).sum(axis=1) / np.where(base, n, 0).sum(axis=1)
        ours = risk_adjusted_p(
            x, n, np.repeat(pbar[:, None], 120, axis=1), base, 3.0, laney=mode, revise=False
        )
        wide = ref.extra.get("sigma_z", np.ones(20)) >= 1.0  # ours never goes below the binomial limits
        np.testing.assert_allclose(ours.ucl[wide], ref.ucl[wide], rtol=1e-9)
        np.testing.assert_allclose(ours.lcl[wide], ref.lcl[wide], rtol=1e-9, atol=1e-12)
        assert (ours.signals["we1"][wide] == ref.signals["we1"][wide]).all()
