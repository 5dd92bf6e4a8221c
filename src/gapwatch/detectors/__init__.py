"""Vectorised control charts and run rules over many streams at once.

Every chart takes arrays shaped ``(streams, periods)`` (NaN: no point that period, e.g. a
late start or a gap) and returns a :class:`ChartResult` with, per (stream, period),
``center``, ``lcl``, ``ucl``, ``statistic`` and ``signals[rule]`` flags, plus per stream
the chart used, sigma, the baseline mask and a human-readable ``reason``.

The shape shared by every chart (STYLE.md habit 2)::

    chart = PChart(L=3.0, laney="auto", rules="we1")     # hyperparameters only
    chart.fit(counts, sizes, baseline=mask_or_N)         # phase I: limits per stream
    result = chart.judge(counts, sizes)                  # phase II: frozen limits, (S, T)
    result = chart.fit_judge(counts, sizes, baseline=N)  # both on one array
    point = chart.update(counts_today, sizes_today)      # live: one period, arrays (S,)

EWMA on per-period means of normalised gaps from aggregates (count, Σgap, Σgap²)::

    mean, sd = period_moments(sums, sumsq, n)
    ewma = EWMA(lam=0.2, L=3.0, limits="exact").fit(mean, n, baseline=N, within_sd=sd)
    result = ewma.judge(mean, n)        # or ewma.update(mean_today, n_today) once per closed period
"""

from __future__ import annotations

from gapwatch.detectors.base import ChartResult, baseline_mask
from gapwatch.detectors.ewma import EWMA, period_moments
from gapwatch.detectors.pchart import NPChart, PChart
from gapwatch.detectors.rules import PRESETS, RULES, evaluate_rules, parse_rules
from gapwatch.detectors.uchart import CChart, UChart

__all__ = [
    "EWMA",
    "PRESETS",
    "RULES",
    "CChart",
    "ChartResult",
    "NPChart",
    "PChart",
    "UChart",
    "baseline_mask",
    "evaluate_rules",
    "parse_rules",
    "period_moments",
]
