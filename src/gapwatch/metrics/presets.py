"""Named bundles of metric specs.

``GAP_STATS`` is what the monitor needs per stream and period: the count, the misses and
exceedances (for attribute charts on the miss rate) and the first two power sums of the
normalised gap and of the raw value (for charts on the mean), with ``n_gap``, the experiences
whose gap is known (an open promise past its due time is missed before its value is known).
Power sums are mergeable: a moment's stream is the sum of its segments' streams, a week the
sum of its days.

Waiting times make the normalised gap heavy-tailed on the bad side (a reply 60 h late on an
8 h promise is a gap of −7).  ``ROBUST_GAP_STATS`` adds the sums of the gap clipped to
±``GAP_CLIP`` zone widths, for charts on the mean that should not follow single extreme
events; it is not the default (two more aggregates cost about a fifth of the scan, and on the
simulated world it changed no signal).
"""

from __future__ import annotations

from gapwatch.metrics.spec import Aggregate, count_known, count_rows, count_where, total, total_squares

__all__ = ["GAP_CLIP", "GAP_STATS", "PRESETS", "ROBUST_GAP_STATS", "SUM_COLUMNS"]

GAP_CLIP = (-3.0, 3.0)

GAP_STATS: tuple[Aggregate, ...] = (
    count_rows("n"),
    count_where("missed", "status", -1),
    count_where("exceeded", "status", 1),
    total("sum_gap_norm", "gap_norm"),
    total_squares("sum_gap_norm2", "gap_norm"),
    total("sum_value", "value"),
    total_squares("sum_value2", "value"),
    count_known("n_gap", "gap_norm"),
)

ROBUST_GAP_STATS: tuple[Aggregate, ...] = (
    *GAP_STATS,
    total("sum_gap_clip", "gap_norm", GAP_CLIP),
    total_squares("sum_gap_clip2", "gap_norm", GAP_CLIP),
)

#: Names of the additive columns a ``GAP_STATS`` aggregate returns, in order.
SUM_COLUMNS: tuple[str, ...] = tuple(a.name for a in GAP_STATS)

PRESETS: dict[str, tuple[Aggregate, ...]] = {"gap_stats": GAP_STATS, "robust_gap_stats": ROBUST_GAP_STATS}
