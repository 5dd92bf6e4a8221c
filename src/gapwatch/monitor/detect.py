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
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from gapwatch.detectors import EWMA, ChartResult, PChart, period_moments

__all__ = ["ChartResult", "mean_gap_chart", "miss_rate_chart"]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
LANEY: dict[str, bool | Literal["auto"]] = {"auto": "auto", "always": True, "never": False}


def miss_rate_chart(
    missed: FloatArray, n: FloatArray, baseline: BoolArray, L: float, *, laney: Sequence[str] | None = None
) -> ChartResult:
    """p-chart (or Laney p′) on ``missed / n``, one row per stream.

    ``laney`` per stream: "auto" (p′ where the baseline is over-dispersed, the default),
    "always" or "never".
    """
    modes = list(laney) if laney is not None else ["auto"] * missed.shape[0]
    result = PChart(L=L, laney="auto", constants="table").fit_judge(missed, n, baseline=baseline)
    for mode in ("always", "never"):
        rows = np.flatnonzero(np.array(modes) == mode)
        if rows.size:
            chart = PChart(L=L, laney=LANEY[mode], constants="table")
            sub = chart.fit_judge(missed[rows], n[rows], baseline=baseline[rows])
            _put_rows(result, sub, rows)
    pbar = np.nanmax(np.where(result.baseline, result.center, np.nan), axis=1, initial=0.0)
    phi = np.where(np.char.endswith(result.chart.astype(str), "prime"), result.extra["sigma_z"], 1.0)
    big_n = np.where(result.baseline, n, 0.0).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        est_var = phi**2 * pbar * (1 - pbar) / big_n
    _widen(result, est_var, L, lower=0.0, upper=1.0)
    thin = ~(np.nan_to_num(result.center) > 0)  # p̄ = 0: limits collapse, nothing to judge
    for flags in result.signals.values():
        flags &= ~thin
    return result


def _widen(
    result: ChartResult, est_var: FloatArray, L: float, lower: float | None = None, upper: float | None = None
) -> None:
    """Limits at ±L·√(se² + var(estimate)), and the 3-sigma rule re-judged against them."""
    se = result.extra["se"]
    half = L * np.sqrt(se**2 + np.nan_to_num(est_var)[:, None])
    lcl, ucl = result.center - half, result.center + half
    if lower is not None:
        lcl = np.maximum(lcl, lower)
    if upper is not None:
        ucl = np.minimum(ucl, upper)
    result.lcl, result.ucl = lcl, ucl
    result.extra["se"] = half / L
    stat = result.statistic
    rule = next(iter(result.signals))
    result.signals = {rule: np.isfinite(stat) & ((stat > ucl) | (stat < lcl))}


def _put_rows(into: ChartResult, sub: ChartResult, rows: NDArray[np.intp]) -> None:
    into.chart[rows] = sub.chart
    for name in ("center", "lcl", "ucl", "statistic"):
        getattr(into, name)[rows] = getattr(sub, name)
    for rule, flags in sub.signals.items():
        into.signals[rule][rows] = flags
    for i, row in enumerate(rows):
        into.reason[row] = sub.reason[i]


def mean_gap_chart(
    sum_x: FloatArray,
    sum_x2: FloatArray,
    n: FloatArray,
    baseline: BoolArray,
    L: float,
    lam: float,
    *,
    over_dispersion: bool = True,
) -> ChartResult:
    """EWMA (exact limits) on the per-period mean from count, Σx and Σx²; NaN n = no point.

    ``over_dispersion=False`` keeps sigma at the pooled within-period SD: right when the
    baseline has too few periods to estimate between-period variation (a few weeks).
    """
    mean, sd = period_moments(sum_x, sum_x2, n)
    method: Literal["auto", "within"] = "auto" if over_dispersion else "within"
    chart = EWMA(lam=lam, L=L, sigma_method=method, constants="table")
    result = chart.fit_judge(mean, n, baseline=baseline, within_sd=sd)
    big_n = np.where(result.baseline, n, 0.0).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        _widen(result, result.sigma**2 / big_n, L)
    unusable = ~np.isfinite(result.sigma) | ~(result.sigma > 0)
    result.chart[unusable] = ""
    for flags in result.signals.values():
        flags[unusable] = False
    return result
