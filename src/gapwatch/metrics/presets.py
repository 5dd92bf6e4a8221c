"""Named bundles of metric specs.

``GAP_STATS`` is what the monitor needs per stream and period: the count, the misses and
exceedances (for attribute charts on the miss rate) and the first two power sums of the
normalised gap and of the raw value (for charts on the mean). Power sums are mergeable:
a moment's stream is the sum of its segments' streams, a week the sum of its days.
"""

from __future__ import annotations

from gapwatch.metrics.spec import Aggregate, count_rows, count_where, total, total_squares

__all__ = ["GAP_STATS", "PRESETS", "SUM_COLUMNS"]

GAP_STATS: tuple[Aggregate, ...] = (
    count_rows("n"),
    count_where("missed", "status", -1),
    count_where("exceeded", "status", 1),
    total("sum_gap_norm", "gap_norm"),
    total_squares("sum_gap_norm2", "gap_norm"),
    total("sum_value", "value"),
    total_squares("sum_value2", "value"),
)

#: Names of the additive columns a ``GAP_STATS`` aggregate returns, in order.
SUM_COLUMNS: tuple[str, ...] = tuple(a.name for a in GAP_STATS)

PRESETS: dict[str, tuple[Aggregate, ...]] = {"gap_stats": GAP_STATS}
