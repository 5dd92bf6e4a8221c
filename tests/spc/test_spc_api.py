"""The multi-stream chart API: shapes, missing periods, phase II, live updates."""

from __future__ import annotations

import numpy as np

from gapwatch.detectors import EWMA, PChart, period_moments


def _thin_and_thick(seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(200, 400, size=(3, 60)).astype(float)
    p = np.array([[0.1], [0.1], [0.1]]) + np.array([[0.0], [0.03], [0.0]]) * rng.standard_normal((3, 60))
    counts = rng.binomial(sizes.astype(int), np.clip(p, 0.01, 0.9)).astype(float)
    counts[2, :10] = np.nan  # late start
    counts[2, 30] = np.nan  # a gap
    counts[0, 50] = 70.0  # a spike
    return counts, sizes


def test_pchart_auto_switches_to_laney_only_where_overdispersed() -> None:
    counts, sizes = _thin_and_thick()
    res = PChart(laney="auto").fit_judge(counts, sizes, baseline=40)
    assert res.chart.tolist() == ["p", "pprime", "p"]
    assert res.statistic.shape == (3, 60)
    assert np.isnan(res.center[2, :10]).all() and np.isnan(res.ucl[2, 30])
    assert np.flatnonzero(res.signals["we1"][0]).tolist() == [4, 50]  # seeded: one false alarm
    assert "Laney" in res.reason[1]
    assert res.baseline[:, 40:].sum() == 0


def test_update_equals_batch_judgement() -> None:
    counts, sizes = _thin_and_thick()
    chart = PChart(laney="auto", rules="we").fit(counts[:, :40], sizes[:, :40])
    batch = PChart(laney="auto", rules="we").fit(counts[:, :40], sizes[:, :40]).judge(counts, sizes)
    live = [chart.update(counts[:, j], sizes[:, j]) for j in range(60)]
    for rule in ("we1", "we2", "we3", "we4"):
        seq = np.concatenate([r.signals[rule] for r in live], axis=1)
        np.testing.assert_array_equal(seq, batch.signals[rule])
    np.testing.assert_allclose(np.concatenate([r.ucl for r in live], axis=1), batch.ucl)


def test_ewma_on_period_means_from_sums() -> None:
    rng = np.random.default_rng(3)
    n = rng.integers(5, 40, size=(2, 80)).astype(float)
    day_effect = 0.05 * rng.standard_normal((2, 80))
    sums = np.zeros((2, 80))
    sumsq = np.zeros((2, 80))
    for i in range(2):
        for j in range(80):
            x = rng.normal(day_effect[i, j] + (0.4 if (i == 1 and j >= 60) else 0.0), 1.0, int(n[i, j]))
            sums[i, j], sumsq[i, j] = x.sum(), (x * x).sum()
    mean, sd = period_moments(sums, sumsq, n)
    res = EWMA(lam=0.2, L=3.0).fit(mean, n, baseline=50, within_sd=sd).judge(mean, n)
    # seeded regression: stream 1 shifts by 0.4 sigma at period 60
    assert np.flatnonzero(res.signals["ewma"][0]).tolist() == [79]
    assert np.flatnonzero(res.signals["ewma"][1]).tolist() == [64, 65, 66, 67, 68, 70, 79]
    assert abs(res.sigma[0] - 1.0) < 0.1
