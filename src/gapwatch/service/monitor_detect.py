"""The one place the monitor talks to the SPC engine (``gapwatch.detectors``).

The monitor asks two questions of every stream at once, on arrays shaped
(streams, periods) with NaN where a stream has no point and limits from a baseline mask:

* ``miss_rate_chart``: a p-chart on the miss rate that switches, per stream, to Laney's p′
  when the baseline is over-dispersed (or as a stream's override says);
* ``mean_gap_chart``: an EWMA on the per-period mean normalised gap, its sigma the pooled
  within-period SD, Laney-inflated where the baseline's period means are over-dispersed.

Both return the engine's ``ChartResult``; swapping the engine is a change to this module only.
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
    result = PChart(L=L, laney="auto").fit_judge(missed, n, baseline=baseline)
    for mode in ("always", "never"):
        rows = np.flatnonzero(np.array(modes) == mode)
        if rows.size:
            sub = PChart(L=L, laney=LANEY[mode]).fit_judge(missed[rows], n[rows], baseline=baseline[rows])
            _put_rows(result, sub, rows)
    thin = ~(np.nan_to_num(result.center) > 0)  # p̄ = 0: limits collapse, nothing to judge
    for flags in result.signals.values():
        flags &= ~thin
    return result


def _put_rows(into: ChartResult, sub: ChartResult, rows: NDArray[np.intp]) -> None:
    into.chart[rows] = sub.chart
    for name in ("center", "lcl", "ucl", "statistic"):
        getattr(into, name)[rows] = getattr(sub, name)
    for rule, flags in sub.signals.items():
        into.signals[rule][rows] = flags
    for i, row in enumerate(rows):
        into.reason[row] = sub.reason[i]


def mean_gap_chart(
    sum_x: FloatArray, sum_x2: FloatArray, n: FloatArray, baseline: BoolArray, L: float, lam: float
) -> ChartResult:
    """EWMA (exact limits) on the per-period mean from count, Σx and Σx²; NaN n = no point."""
    mean, sd = period_moments(sum_x, sum_x2, n)
    result = EWMA(lam=lam, L=L).fit_judge(mean, n, baseline=baseline, within_sd=sd)
    unusable = ~np.isfinite(result.sigma) | ~(result.sigma > 0)
    result.chart[unusable] = ""
    for flags in result.signals.values():
        flags[unusable] = False
    return result
