"""Known variation: what each stream is expected to do each day, so that it is not a signal.

A stream's miss rate and mean gap move with things everybody knows about: the day of the week
(Mondays clear the weekend's backlog), the calendar (a sale, a holiday peak) and, for a
moment watched as a whole, the mix of its segments (more business customers this month, whose
promises are tighter). The charts judge each period against its *expected* level instead of
one flat centre line (a risk-adjusted p chart; Cook, Steiner, Cook & Farewell 2003, "The
risk-adjusted p chart"; for the mean, the EWMA of the residual from the expected mean):

* **Weekday** (``detection.weekday: auto``): a business has one weekly rhythm that most of its
  streams share, and four weeks of one stream rarely show it clearly. So the baselines' misses
  per weekday are pooled over the workspace's streams (their segments, each against its own
  rate); when the pooled pattern is clear (Pearson's X² over the weekdays, p < 0.01) every
  stream's expected rate follows it, unless the stream's own misses depart from it clearly (X²
  against the pooled shape, p < 0.01, at least ``WEEKDAY_MIN_MISSES`` misses): then its own
  pattern, shrunk towards the pooled one (``POOL`` pseudo-misses of it: empirical Bayes), with
  the estimation error of each of its weekday factors in its limits. A stream whose own pattern
  is clear (p < 0.01, at least ``WEEKDAY_MIN_MISSES`` misses) when the pool's is not follows its
  own, shrunk towards 1. The
  live service judges a few streams at a time with the pooled pattern of the last whole run
  (as it does with the limit multiplier L), so closed periods stay exactly the batch's. The
  mean gap gets weekday offsets by its own test (z of each weekday's mean against its SD).
* **Calendar** (``detection.calendar``): a configured factor multiplies the expected rate on
  its days (the baseline's rate is estimated per unit of that exposure); days without a
  factor are not judged (``skip``). A factor says nothing of how far the gaps move, so the
  mean gap is not judged on those days either (``gap_skip``): the miss rate watches them.
* **Mix**: a moment's parent stream expects, each day, the sum over its segments of each
  segment's events times that segment's expected rate (and likewise for the mean gap).

Without any of these a stream's expected rate is its baseline p̄ every day: the classic chart.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from gapwatch.config.schema import CalendarEffect, DetectionSection
from gapwatch.monitor.arrays import ALL_SEGMENTS, StreamArrays
from gapwatch.stats.distributions import chi2_sf

__all__ = ["Expected", "Weekday", "calendar_factors", "expected_levels", "pooled_weekday", "weekdays"]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
ALPHA = 0.01  # a weekday pattern must be this clear to be used
WEEKDAY_MIN_MISSES = 20
SHRINK = 5.0  # pseudo-misses pulling a stream's own weekday factor towards 1
POOL = 20.0  # pseudo-misses pulling a stream's weekday factor towards the workspace's pattern


@dataclass(frozen=True)
class Weekday:
    """The workspace's weekly rhythm of misses: a factor per weekday (Monday first) and its X² p."""

    factors: tuple[float, ...]
    pvalue: float

    @property
    def clear(self) -> bool:
        return self.pvalue < ALPHA


@dataclass(frozen=True)
class Expected:
    """Per (stream, day): expected miss rate and mean gap under known variation; days not judged."""

    rate: FloatArray
    gap: FloatArray
    skip: BoolArray
    gap_skip: BoolArray  # days the mean gap is not judged: skipped ones, and those with a calendar factor
    notes: list[str]  # per stream, what the expected level follows ("" for nothing)
    baseline_misses: FloatArray  # misses behind each stream's expected rate (its estimation error)
    rel_var: FloatArray  # (S, T): relative variance of the expected rate's estimate, per day

    def weekly(self, daily: StreamArrays, weeks: StreamArrays) -> tuple[FloatArray, FloatArray]:
        """Expected miss rate and mean gap per ISO week (event-weighted sums of the days)."""
        n = np.where(self.skip, 0.0, np.nan_to_num(daily.sums["n"]))
        ng = np.where(self.skip, 0.0, np.nan_to_num(daily.sums["n_gap"]))
        e = _week_sum(n * np.nan_to_num(self.rate), daily, weeks)
        g = _week_sum(ng * np.nan_to_num(self.gap), daily, weeks)
        nw, ngw = _week_sum(n, daily, weeks), _week_sum(ng, daily, weeks)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(nw > 0, e / nw, np.nan), np.where(ngw > 0, g / ngw, np.nan)


def _week_sum(mat: FloatArray, daily: StreamArrays, weeks: StreamArrays) -> FloatArray:
    offset = int((daily.periods[0] - weeks.periods[0]).astype(int))
    week_of = (np.arange(len(daily.periods)) + offset) // 7
    starts = np.searchsorted(week_of, np.arange(len(weeks.periods)))
    out: FloatArray = np.add.reduceat(mat, starts, axis=1)
    return out


def weekdays(daily: StreamArrays) -> NDArray[np.int64]:
    """Monday = 0 … Sunday = 6 for each day of the arrays."""
    days = daily.periods.astype("datetime64[D]").view("int64")
    return np.asarray((days + 3) % 7, dtype=np.int64)  # 1970-01-01 was a Thursday


def _covers(c: CalendarEffect, day: dt.date) -> bool:
    if not c.yearly:
        return c.start <= day <= c.end
    md, lo, hi = (day.month, day.day), (c.start.month, c.start.day), (c.end.month, c.end.day)
    return lo <= md <= hi if lo <= hi else (md >= lo or md <= hi)


def calendar_factors(daily: StreamArrays, calendar: list[CalendarEffect]) -> tuple[FloatArray, BoolArray]:
    """Per (stream, day): the configured factor on the expected miss rate (1 elsewhere), and skip days."""
    s_count, t_count = daily.shape
    factor = np.ones((s_count, t_count))
    skip = np.zeros((s_count, t_count), dtype=bool)
    if not calendar:
        return factor, skip
    dates = daily.dates()
    for c in calendar:
        days = np.array([_covers(c, d) for d in dates], dtype=bool)
        if not days.any():
            continue
        rows = np.array([c.moments is None or k[0] in c.moments for k in daily.keys], dtype=bool)
        cells = rows[:, None] & days[None, :]
        if c.factor is None:
            skip |= cells
        else:
            factor = np.where(cells, factor * c.factor, factor)
    return factor, skip


def pooled_weekday(
    daily: StreamArrays, base: BoolArray, complete: BoolArray, detection: DetectionSection
) -> Weekday | None:
    """The weekday pattern of misses pooled over the segment streams with a baseline (None: off)."""
    if detection.weekday != "auto":
        return None
    factor, skip = calendar_factors(daily, detection.calendar)
    leaf = complete & np.array([k[1] != ALL_SEGMENTS for k in daily.keys], dtype=bool)
    if not leaf.any():
        return Weekday((1.0,) * 7, 1.0)
    n = np.where(skip, 0.0, np.nan_to_num(daily.sums["n"]))[leaf] * factor[leaf]
    m = np.where(skip, 0.0, np.nan_to_num(daily.sums["missed"]))[leaf]
    b = base[leaf]
    x, mm = np.where(b, n, 0.0), np.where(b, m, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        pbar = np.where(x.sum(axis=1) > 0, mm.sum(axis=1) / x.sum(axis=1), 0.0)
    onehot = weekdays(daily)[None, :] == np.arange(7)[:, None]
    m_d = (mm @ onehot.T).sum(axis=0)
    e_d = ((x @ onehot.T) * pbar[:, None]).sum(axis=0)
    seen = e_d > 0
    if seen.sum() < 2:
        return Weekday((1.0,) * 7, 1.0)
    x2 = float((((m_d - e_d) ** 2)[seen] / e_d[seen]).sum())
    w = np.where(seen, m_d / np.where(seen, e_d, 1.0), 1.0)
    return Weekday(tuple(float(v) for v in w), float(chi2_sf(np.array([x2]), np.array([seen.sum() - 1]))[0]))


def expected_levels(
    daily: StreamArrays,
    base: BoolArray,
    complete: BoolArray,
    detection: DetectionSection,
    pooled: Weekday | None = None,
) -> Expected:
    """Expected miss rate and mean gap of every stream and day (see the module's rules).

    ``pooled`` is the workspace's weekday pattern (default: pooled from these streams).
    """
    if pooled is None:
        pooled = pooled_weekday(daily, base, complete, detection)
    factor, skip = calendar_factors(daily, detection.calendar)
    n = np.where(skip, 0.0, np.nan_to_num(daily.sums["n"]))
    missed = np.where(skip, 0.0, np.nan_to_num(daily.sums["missed"]))
    ng = np.where(skip | (factor != 1.0), 0.0, np.nan_to_num(daily.sums["n_gap"]))
    sg = np.where(skip | (factor != 1.0), 0.0, np.nan_to_num(daily.sums["sum_gap_norm"]))
    sg2 = np.where(skip | (factor != 1.0), 0.0, np.nan_to_num(daily.sums["sum_gap_norm2"]))
    dow = weekdays(daily)
    use_weekday = detection.weekday == "auto"
    rate, rate_note, misses, rel_var = _rates(n * factor, missed, base, dow, use_weekday, pooled)
    rate = np.clip(rate * factor, 0.0, 1.0)
    gap, gap_note = _gaps(ng, sg, sg2, base, dow, use_weekday)
    notes = [", ".join(x for x in (r, g) if x) for r, g in zip(rate_note, gap_note, strict=True)]
    calendar = bool(detection.calendar) and bool((factor != 1.0).any() or skip.any())
    rate, gap, notes, rel_var = _mix(daily, base, complete, n, ng, rate, gap, notes, rel_var)
    if calendar:
        notes = [", ".join(x for x in (note, "calendar") if x) for note in notes]
    return Expected(rate, gap, skip, skip | (factor != 1.0), notes, misses, rel_var)


def _rates(
    exposure: FloatArray,
    missed: FloatArray,
    base: BoolArray,
    dow: NDArray[np.int64],
    weekday: bool,
    pooled: Weekday | None = None,
) -> tuple[FloatArray, list[str], FloatArray, FloatArray]:
    """Baseline rate per unit of exposure, times the weekday factors where the pattern is clear;
    and the relative variance of that estimate per day (a weekday's factor rests on its own misses)."""
    x = np.where(base, exposure, 0.0)
    m = np.where(base, missed, 0.0)
    total_x, total_m = x.sum(axis=1), m.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        pbar = np.where(total_x > 0, total_m / total_x, np.nan)
    rate = np.repeat(pbar[:, None], x.shape[1], axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        level_var = np.where(total_m > 0, (1.0 - np.nan_to_num(pbar)) / total_m, np.inf)
    rel_var = np.repeat(level_var[:, None], x.shape[1], axis=1)
    notes = [""] * x.shape[0]
    if not weekday:
        return rate, notes, total_m, rel_var
    onehot = dow[None, :] == np.arange(7)[:, None]  # (7, T)
    x_d, m_d = x @ onehot.T, m @ onehot.T  # (S, 7)
    e_d = x_d * np.nan_to_num(pbar)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(e_d > 0, (m_d - e_d) ** 2 / (e_d * (1 - np.nan_to_num(pbar))[:, None]), 0.0)
    df = (x_d > 0).sum(axis=1) - 1
    pvalue = np.where(df > 0, chi2_sf(terms.sum(axis=1), np.maximum(df, 1)), 1.0)
    if pooled is not None and pooled.clear:
        return _pooled_rates(pooled, m_d, e_d, pbar, total_m, dow, (rate, rel_var, notes))
    for i in np.flatnonzero((pvalue < ALPHA) & (total_m >= WEEKDAY_MIN_MISSES)):
        w = (m_d[i] + SHRINK) / (e_d[i] + SHRINK)
        scale = total_m[i] / max(float((e_d[i] * w).sum()), 1e-12)
        rate[i] = pbar[i] * (w * scale)[dow]
        rel_var[i] = ((1.0 - pbar[i]) / (m_d[i] + SHRINK))[dow]
        notes[i] = f"weekday pattern of misses (X² p = {pvalue[i]:.1g})"
    return rate, notes, total_m, rel_var


def _pooled_rates(
    pooled: Weekday,
    m_d: FloatArray,
    e_d: FloatArray,
    pbar: FloatArray,
    total_m: FloatArray,
    dow: NDArray[np.int64],
    out: tuple[FloatArray, FloatArray, list[str]],
) -> tuple[FloatArray, list[str], FloatArray, FloatArray]:
    """Every stream follows the workspace's rhythm, unless its own departs from it clearly (X² of its
    weekday misses against the pooled shape, p < 0.01): then its own, shrunk towards the pool's."""
    rate, rel_var, notes = out
    prior = np.asarray(pooled.factors)
    shaped = e_d * prior[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        shaped *= np.where(shaped.sum(axis=1) > 0, total_m / shaped.sum(axis=1), 0.0)[:, None]
        terms = np.where(shaped > 0, (m_d - shaped) ** 2 / shaped, 0.0)
    df = (shaped > 0).sum(axis=1) - 1
    own_p = np.where(df > 0, chi2_sf(terms.sum(axis=1), np.maximum(df, 1)), 1.0)
    for i in np.flatnonzero(np.isfinite(pbar) & (total_m > 0)):
        own = own_p[i] < ALPHA and total_m[i] >= WEEKDAY_MIN_MISSES
        w = (m_d[i] + POOL * prior) / (e_d[i] + POOL) if own else prior
        scale = total_m[i] / max(float((e_d[i] * w).sum()), 1e-12)
        rate[i] = pbar[i] * (w * scale)[dow]
        if own:
            rel_var[i] = ((1.0 - pbar[i]) / (m_d[i] + POOL))[dow]
            notes[i] = f"its own weekday pattern of misses (X² p = {own_p[i]:.1g} against the workspace's)"
        else:
            notes[i] = f"the workspace's weekday pattern of misses (X² p = {pooled.pvalue:.1g})"
    return rate, notes, total_m, rel_var


def _gaps(
    ng: FloatArray, sg: FloatArray, sg2: FloatArray, base: BoolArray, dow: NDArray[np.int64], weekday: bool
) -> tuple[FloatArray, list[str]]:
    """Baseline mean gap, plus weekday offsets where they are clear."""
    nb, sb, s2b = (np.where(base, a, 0.0) for a in (ng, sg, sg2))
    total, ssum, ssq = nb.sum(axis=1), sb.sum(axis=1), s2b.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(total > 0, ssum / total, np.nan)
        var = np.where(total > 1, np.maximum(ssq - ssum * mean, 0.0) / (total - 1), np.nan)
    gap = np.repeat(mean[:, None], ng.shape[1], axis=1)
    notes = [""] * ng.shape[0]
    if not weekday:
        return gap, notes
    onehot = (dow[None, :] == np.arange(7)[:, None]).astype(float)
    n_d, s_d = nb @ onehot.T, sb @ onehot.T
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = np.where(n_d > 0, s_d / n_d - mean[:, None], 0.0)
        z2 = np.where(n_d > 0, delta**2 * n_d / var[:, None], 0.0)
    df = (n_d > 0).sum(axis=1) - 1
    testable = (df > 0) & np.isfinite(var) & (var > 0)
    pvalue = np.where(testable, chi2_sf(np.nan_to_num(z2).sum(axis=1), np.maximum(df, 1)), 1.0)
    clear = (pvalue < ALPHA) & (total >= 7 * WEEKDAY_MIN_MISSES)
    for i in np.flatnonzero(clear):
        shrunk = delta[i] * n_d[i] / (n_d[i] + SHRINK)
        gap[i] = mean[i] + shrunk[dow]
        notes[i] = f"weekday pattern of the gap (p = {pvalue[i]:.1g})"
    return gap, notes


def _mix(
    daily: StreamArrays,
    base: BoolArray,
    complete: BoolArray,
    n: FloatArray,
    ng: FloatArray,
    rate: FloatArray,
    gap: FloatArray,
    notes: list[str],
    rel_var: FloatArray,
) -> tuple[FloatArray, FloatArray, list[str], FloatArray]:
    """A moment's parent expects the sum of its segments' expectations, weighted by their events
    (and the error of that sum follows from its segments' errors)."""
    rate, gap, rel_var = rate.copy(), gap.copy(), rel_var.copy()
    family: dict[tuple[str, str], list[int]] = {}
    parents: dict[tuple[str, str], int] = {}
    for i, (moment, segment, metric) in enumerate(daily.keys):
        if segment == ALL_SEGMENTS:
            parents[(moment, metric)] = i
        else:
            family.setdefault((moment, metric), []).append(i)
    # NaN as 0 once for all streams: a parent's row is rewritten only in its own turn, after it is read
    rate0, gap0 = np.nan_to_num(rate), np.nan_to_num(gap)
    rel_var0 = np.nan_to_num(rel_var, posinf=0.0)
    for fam, j in parents.items():
        kids = [c for c in family.get(fam, []) if complete[c]]
        if len(kids) < 2:
            continue  # one known segment: its rate is the parent's anyway
        expected_n = n[kids] * rate0[kids]
        spread = (expected_n**2 * rel_var0[kids]).sum(axis=0)
        e = expected_n.sum(axis=0)
        g = (ng[kids] * gap0[kids]).sum(axis=0)
        covered, covered_g = n[kids].sum(axis=0), ng[kids].sum(axis=0)
        # events of segments without a baseline yet are expected at the parent's own level
        rest, rest_g = n[j] - covered, ng[j] - covered_g
        e += np.maximum(rest, 0.0) * rate0[j]
        g += np.maximum(rest_g, 0.0) * gap0[j]
        with np.errstate(divide="ignore", invalid="ignore"):
            mixed = np.where(n[j] > 0, e / n[j], rate[j])
            mixed_gap = np.where(ng[j] > 0, g / ng[j], gap[j])
            # the mix gives the shape over time; the parent's own baseline keeps the level
            level = np.where(base[j], n[j] * rate0[j], 0.0).sum()
            shape = np.where(base[j], n[j] * np.nan_to_num(mixed), 0.0).sum()
            rate[j] = mixed * (level / shape if shape > 0 else 1.0)
            rel_var[j] = np.where(e > 0, np.maximum(spread / e**2, rel_var[j]), rel_var[j])
            own_g = np.where(base[j], ng[j] * gap0[j], 0.0).sum()
            mix_g = np.where(base[j], ng[j] * np.nan_to_num(mixed_gap), 0.0).sum()
            weight = np.where(base[j], ng[j], 0.0).sum()
            gap[j] = mixed_gap + ((own_g - mix_g) / weight if weight > 0 else 0.0)
        notes[j] = ", ".join(x for x in (notes[j], "segment mix") if x)
    return rate, gap, notes, rel_var
