"""The one place the monitor talks to the SPC engine (``gapwatch.detectors``).

The monitor asks two questions of every stream at once, on arrays shaped
(streams, periods) with NaN where a stream has no point and limits from a baseline mask:

* ``miss_rate_chart``: a p-chart on the miss rate that switches, per stream, to Laney's p′
  when the baseline is over-dispersed (or as a stream's override says);
* ``mean_gap_chart``: an EWMA on the per-period mean normalised gap, its sigma the pooled
  within-period SD, Laney-inflated where the baseline's period means are over-dispersed.

Both return the engine's ``ChartResult``; swapping the engine is a change to this module only.
Moving-range constants are the printed ones (d2(2) = 1.128): the exact integral gives the same
to four digits and costs a numerical integration on every run.

Limits allow for the error of the baseline estimate.  With a short baseline on a thin stream
the centre line itself is uncertain: a few weeks of a dozen events give a baseline mean whose
standard error is as large as the EWMA's own, and frozen textbook limits then signal for
months on a stream that never changed (phase-I estimation error; Jensen et al. 2006, "Effects
of parameter estimation on control chart properties", JQT 38(4)).  The monitor therefore
judges the *difference* between a point and the baseline estimate, whose variance is the
point's plus the estimate's: se² + σ²/N for the EWMA (N events in the baseline) and
se² + φ²·p̄(1 − p̄)/N for the p-chart (φ = Laney's sigma_z where p′ is used, else 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, cast

import numpy as np
from numpy.typing import NDArray

from gapwatch.detectors import EWMA, ChartResult, period_moments
from gapwatch.detectors.riskadjusted import LaneyMode, risk_adjusted_p

__all__ = ["ChartResult", "mean_gap_chart", "miss_rate_chart"]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
LANEY: dict[str, bool | Literal["auto"]] = {"auto": "auto", "always": True, "never": False}


def miss_rate_chart(
    missed: FloatArray,
    n: FloatArray,
    baseline: BoolArray,
    L: float | FloatArray,
    *,
    laney: Sequence[str] | None = None,
    rate: FloatArray | None = None,
    baseline_misses: FloatArray | None = None,
    revise: bool = True,
    rel_var: FloatArray | None = None,
) -> ChartResult:
    """Risk-adjusted p-chart (or Laney p′) on ``missed / n``, one row per stream.

    ``rate`` is each period's expected miss rate under known variation (weekday, calendar,
    segment mix; :mod:`gapwatch.monitor.expected`); without it, the baseline's p̄. ``laney``
    per stream: "auto" (p′ where the baseline is over-dispersed, the default), "always" or
    "never". ``baseline_misses`` sets the estimation error of the level (±1/√M); ``rel_var`` (S, T),
    when given, is the expected rate's relative estimation variance per point instead.
    """
    modes = list(laney) if laney is not None else ["auto"] * missed.shape[0]
    if rate is None:
        x = np.where(baseline, np.nan_to_num(missed), 0.0).sum(axis=1)
        m = np.where(baseline, np.nan_to_num(n), 0.0).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = np.repeat(np.where(m > 0, x / m, np.nan)[:, None], n.shape[1], axis=1)
    if baseline_misses is None:
        baseline_misses = np.where(baseline, np.nan_to_num(missed), 0.0).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        pbar = _row_mean(np.where(baseline, rate, np.nan))
        rel = np.where(baseline_misses > 0, (1.0 - np.nan_to_num(pbar)) / baseline_misses, np.inf)
    if rel_var is not None:
        rel = np.where(np.isfinite(rel_var), rel_var, rel[:, None])
    result = risk_adjusted_p(
        missed, n, rate, baseline, L, laney=cast(list[LaneyMode], modes), revise=revise, est_rel_var=rel
    )
    thin = ~(np.nanmax(np.where(result.baseline, result.center, np.nan), axis=1, initial=0.0) > 0)
    for flags in result.signals.values():
        flags &= ~thin[:, None]  # p̄ = 0: limits collapse, nothing to judge
    return result


def _row_mean(values: FloatArray) -> FloatArray:
    """Mean of each row's finite values (NaN for a row without any)."""
    ok = np.isfinite(values)
    count = ok.sum(axis=1)
    total = np.where(ok, values, 0.0).sum(axis=1)
    return np.asarray(np.where(count > 0, total / np.maximum(count, 1), np.nan), dtype=float)


def _widen(
    result: ChartResult,
    est_var: FloatArray,
    L: float | FloatArray,
    lower: float | None = None,
    upper: float | None = None,
) -> None:
    """Limits at ±L·√(se² + var(estimate)) (L per stream or one), the rule re-judged against them."""
    se = result.extra["se"]
    big_l = np.broadcast_to(np.asarray(L, dtype=float), (se.shape[0],))[:, None]
    half = big_l * np.sqrt(se**2 + np.nan_to_num(est_var)[:, None])
    lcl, ucl = result.center - half, result.center + half
    if lower is not None:
        lcl = np.maximum(lcl, lower)
    if upper is not None:
        ucl = np.minimum(ucl, upper)
    result.lcl, result.ucl = lcl, ucl
    result.extra["se"] = half / big_l
    stat = result.statistic
    rule = next(iter(result.signals))
    result.signals = {rule: np.isfinite(stat) & ((stat > ucl) | (stat < lcl))}


def mean_gap_chart(
    sum_x: FloatArray,
    sum_x2: FloatArray,
    n: FloatArray,
    baseline: BoolArray,
    L: float | FloatArray,
    lam: float,
    *,
    over_dispersion: bool = True,
    expected: FloatArray | None = None,
) -> ChartResult:
    """EWMA (exact limits) on the per-period mean from count, Σx and Σx²; NaN n = no point.

    ``expected`` is each period's expected mean under known variation (weekday, segment mix):
    the chart follows the mean's departure from it (the residual, re-centred on the
    baseline's level). ``over_dispersion=False`` keeps sigma at the pooled within-period SD:
    right when the baseline has too few periods to estimate between-period variation.
    """
    if expected is not None:
        level = _row_mean(np.where(baseline & np.isfinite(expected), expected, np.nan))
        shift = np.nan_to_num(expected - level[:, None])
        sum_x2 = sum_x2 - 2.0 * shift * sum_x + n * shift**2  # Σ(x − c)²: the within SD stays
        sum_x = sum_x - n * shift
    mean, sd = period_moments(sum_x, sum_x2, n)
    method: Literal["auto", "within"] = "auto" if over_dispersion else "within"
    chart = EWMA(lam=lam, L=3.0, sigma_method=method, constants="table")
    result = chart.fit_judge(mean, n, baseline=baseline, within_sd=sd)
    big_n = np.where(result.baseline, n, 0.0).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        _widen(result, result.sigma**2 / big_n, L)
    unusable = ~np.isfinite(result.sigma) | ~(result.sigma > 0)
    result.chart[unusable] = ""
    for flags in result.signals.values():
        flags[unusable] = False
    return result
