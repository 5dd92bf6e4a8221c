"""Mergeable running statistics and chart constants (no I/O, numpy only)."""

from __future__ import annotations

from gapwatch.stats.constants import c4, d2, d3
from gapwatch.stats.running import Moments, Proportion

__all__ = ["Moments", "Proportion", "c4", "d2", "d3"]
