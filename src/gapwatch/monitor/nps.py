"""The after-the-fact view: weekly end-of-journey NPS with its standard error and limits.

Computed only from observable survey answers (the ``outcomes`` table, outcome ``nps``).
NPS = 100·(p₊ − p₋) with p₊ the share of promoters (9–10) and p₋ of detractors (0–6);
each answer scores +1, 0 or −1, so the standard error of a week's NPS is
100·√((p₊ + p₋ − (p₊ − p₋)²)/n).  Control limits come from the pooled baseline proportions
at each week's n: centre ± L·σ_w.  A *drop* is a week below its lower limit; the week is
known on its last day (or on the last day seen so far, provisionally).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

__all__ = ["NpsChart", "compute_nps", "nps_chart", "nps_se", "weekly_counts"]

FloatArray = NDArray[np.float64]


def nps_se(promoters: FloatArray | float, detractors: FloatArray | float, n: FloatArray | float) -> Any:
    """Standard error of NPS (in points, -100..100) from counts.

    Examples
    --------
    >>> round(float(nps_se(50, 20, 100)), 3)
    7.81
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        pp = np.asarray(promoters, dtype=float) / n
        pd = np.asarray(detractors, dtype=float) / n
        return 100.0 * np.sqrt((pp + pd - (pp - pd) ** 2) / n)


@dataclass(frozen=True)
class NpsChart:
    """Weekly NPS with its standard error, limits from a baseline, and drop signals."""

    weeks: list[dt.date]  # Mondays
    known_on: list[dt.date]  # the day each week's figure is (provisionally) known
    n: FloatArray
    nps: FloatArray
    se: FloatArray
    center: float
    lcl: FloatArray
    ucl: FloatArray
    baseline: NDArray[np.bool_]
    drop: NDArray[np.bool_]
    L: float

    def first_drop(self, on_or_after: dt.date) -> dt.date | None:
        """Day the first drop was known in a week starting on or after ``on_or_after``, or None.

        A week that began before the date is left out: its answers mostly predate it.
        """
        for day, week, flag in zip(self.known_on, self.weeks, self.drop, strict=True):
            if flag and week >= on_or_after:
                return day
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "weeks": [w.isoformat() for w in self.weeks],
            "n": self.n.tolist(),
            "nps": self.nps.tolist(),
            "se": self.se.tolist(),
            "center": self.center,
            "lcl": self.lcl.tolist(),
            "ucl": self.ucl.tolist(),
            "drops": [w.isoformat() for w, d in zip(self.weeks, self.drop, strict=True) if d],
        }


def nps_chart(
    weeks: list[dt.date],
    n: FloatArray,
    promoters: FloatArray,
    detractors: FloatArray,
    baseline: NDArray[np.bool_],
    *,
    L: float = 3.0,
    last_day: dt.date | None = None,
) -> NpsChart:
    """Chart weekly NPS against limits from the baseline weeks' pooled proportions."""
    n, promoters, detractors = (np.asarray(a, dtype=float) for a in (n, promoters, detractors))
    with np.errstate(divide="ignore", invalid="ignore"):
        nps = 100.0 * (promoters - detractors) / n
        big_n = n[baseline].sum()
        pp, pd = promoters[baseline].sum() / big_n, detractors[baseline].sum() / big_n
        center = 100.0 * (pp - pd)
        sigma = 100.0 * np.sqrt((pp + pd - (pp - pd) ** 2) / n)
    se = nps_se(promoters, detractors, n)
    lcl, ucl = center - L * sigma, center + L * sigma
    after = np.cumsum(baseline[::-1])[::-1] == 0  # weeks after the last baseline week
    drop = after & np.isfinite(nps) & (nps < lcl)
    ends = [w + dt.timedelta(days=6) for w in weeks]
    known = [min(e, last_day) if last_day else e for e in ends]
    return NpsChart(weeks, known, n, nps, se, float(center), lcl, ucl, baseline, drop, L)


def weekly_counts(con: Any, table: str = "outcomes") -> pa.Table:
    """Run the weekly NPS counts expression on a DuckDB connection."""
    from gapwatch.metrics.outcomes import nps_weekly
    from gapwatch.monitor.engine import execute

    return execute(con, lambda t: nps_weekly(t).order_by("week"), table)


def compute_nps(
    con: Any,
    baseline_start: dt.date,
    baseline_days: int,
    *,
    L: float = 3.0,
    last_day: dt.date | None = None,
) -> NpsChart | None:
    """Weekly NPS of a workspace; baseline weeks start inside the baseline window.

    Returns None when there are no survey answers.
    """
    counts = weekly_counts(con)
    if counts.num_rows == 0:
        return None
    found = {_as_date(w): i for i, w in enumerate(counts.column("week").to_pylist())}
    first, last = min(found), max(found)
    weeks = [first + dt.timedelta(days=7 * k) for k in range((last - first).days // 7 + 1)]
    cols = {c: np.zeros(len(weeks)) for c in ("n", "promoters", "detractors")}
    for k, w in enumerate(weeks):
        if w in found:
            for c in cols:
                cols[c][k] = counts.column(c)[found[w]].as_py()
    cols["n"][cols["n"] == 0] = np.nan
    end = baseline_start + dt.timedelta(days=baseline_days)
    baseline = np.array([baseline_start <= w < end for w in weeks]) & np.isfinite(cols["n"])
    return nps_chart(
        weeks, cols["n"], cols["promoters"], cols["detractors"], baseline, L=L, last_day=last_day
    )


def _as_date(value: Any) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value
