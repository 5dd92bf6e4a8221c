"""Typed columns become model inputs, learned on training rows and applied to any others.

Two views of the same features:

- :class:`Features`: one column per feature, NaN where missing; categorical features hold
  level codes (what a gradient-boosting model reads natively);
- :class:`Basis`: a design for linear models and relative weights: numeric features as a
  standardised value, a natural-cubic-spline bend and a missing flag (median-imputed);
  categorical features as indicator columns (the commonest level left out). Every basis
  column remembers the feature it came from, so weights can be summed per feature.

Levels seen fewer than ``MIN_LEVEL`` times in training pool into one "other" level, so a
rare category neither overfits nor reaches a test row as an unknown code. Datetime columns
are days; each pair of datetime columns also gives their difference (a promised and an
actual date give the delay), the feature a flat export rarely spells out.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import numpy.typing as npt

from gapwatch.insight.tables import TypedColumn

__all__ = ["Basis", "Encoder", "Features"]

Floats = npt.NDArray[np.float64]
MIN_LEVEL = 10
MAX_LEVELS = 60
MAX_DATE_PAIRS_OF = 6  # pairwise differences only among the first six datetime columns
OTHER = "(other)"


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    name: str
    kind: str  # numeric | categorical | datetime | difference
    levels: tuple[str, ...] = ()
    parts: tuple[str, str] | None = None  # a difference: (later, earlier)


@dataclass(frozen=True, slots=True)
class Features:
    """Model inputs: ``x`` is (rows, features) with NaN for missing; codes for categories."""

    x: Floats
    names: tuple[str, ...]
    categorical: npt.NDArray[np.bool_]
    levels: tuple[tuple[str, ...], ...]

    @property
    def rows(self) -> int:
        return int(self.x.shape[0])

    def take(self, index: npt.NDArray[np.int64]) -> Features:
        return Features(self.x[index], self.names, self.categorical, self.levels)


class Encoder:
    """Learns the feature list and category levels from training columns."""

    def __init__(self, min_level: int = MIN_LEVEL, max_levels: int = MAX_LEVELS) -> None:
        self.min_level = min_level
        self.max_levels = max_levels
        self.specs_: list[FeatureSpec] = []

    def fit(self, columns: list[TypedColumn]) -> Encoder:
        specs: list[FeatureSpec] = []
        dates: list[str] = []
        for col in columns:
            if col.kind in ("numeric", "datetime"):
                specs.append(FeatureSpec(col.name, col.kind))
                if col.kind == "datetime":
                    dates.append(col.name)
            elif col.kind == "categorical" and col.labels is not None:
                levels = self._levels(col.labels)
                if len(levels) >= 2:
                    specs.append(FeatureSpec(col.name, "categorical", levels))
        for a, b in combinations(dates[:MAX_DATE_PAIRS_OF], 2):
            specs.append(FeatureSpec(f"{b} - {a} (days)", "difference", parts=(b, a)))
        self.specs_ = specs
        return self

    def _levels(self, labels: list[str | None]) -> tuple[str, ...]:
        counts = Counter(v for v in labels if v is not None)
        kept = [v for v, c in counts.most_common(self.max_levels) if c >= self.min_level]
        if len(kept) < len(counts):
            kept.append(OTHER)
        return tuple(kept)

    def transform(self, columns: list[TypedColumn], rows: int) -> Features:
        """Features for ``rows`` rows; a column the file lacks is all missing."""
        by_name = {c.name: c for c in columns}
        x = np.full((rows, len(self.specs_)), np.nan)
        for j, spec in enumerate(self.specs_):
            x[:, j] = self._column(spec, by_name, rows)
        cat = np.array([s.kind == "categorical" for s in self.specs_], dtype=bool)
        return Features(x, tuple(s.name for s in self.specs_), cat, tuple(s.levels for s in self.specs_))

    @staticmethod
    def _column(spec: FeatureSpec, by_name: dict[str, TypedColumn], rows: int) -> Floats:
        if spec.kind == "difference" and spec.parts is not None:
            later, earlier = (by_name.get(p) for p in spec.parts)
            if later is None or earlier is None or later.numbers is None or earlier.numbers is None:
                return np.full(rows, np.nan)
            diff: Floats = later.numbers - earlier.numbers
            return diff
        col = by_name.get(spec.name)
        if col is None:
            return np.full(rows, np.nan)
        if spec.kind == "categorical":
            return _codes(col, spec.levels, rows)
        if col.numbers is None:  # typed differently in this file: its cells are unusable here
            return np.full(rows, np.nan)
        return col.numbers


def _codes(col: TypedColumn, levels: tuple[str, ...], rows: int) -> Floats:
    index = {v: float(i) for i, v in enumerate(levels)}
    other = index.get(OTHER, np.nan)
    if col.labels is None:  # numbers in this file where training saw labels: match their text
        labels = [None if not np.isfinite(v) else f"{v:g}" for v in (col.numbers or np.full(rows, np.nan))]
    else:
        labels = col.labels
    return np.array([np.nan if v is None else index.get(v, other) for v in labels], dtype=np.float64)


class Basis:
    """The linear design of :class:`Features` (see the module docstring).

    Spline bends are added only while the design keeps at least ``rows_per_column`` rows
    per column: a 200-respondent survey with 48 items gets straight lines.
    """

    def __init__(self, splines: bool = True, rows_per_column: int = 20) -> None:
        self.splines = splines
        self.rows_per_column = rows_per_column

    def fit(self, features: Features) -> Basis:
        x = features.x
        numeric = int((~features.categorical).sum())
        linear = numeric + sum(max(len(v) - 1, 0) for v in features.levels)
        bends = self.splines and linear + 2 * numeric <= features.rows / self.rows_per_column
        self.center_: Floats = np.zeros(x.shape[1])
        self.scale_: Floats = np.ones(x.shape[1])
        self.knots_: list[Floats | None] = []
        self.flag_: list[bool] = []
        self.keep_: list[list[int]] = []
        for j in range(x.shape[1]):
            col = x[:, j]
            missing = np.isnan(col)
            self.flag_.append(bool(missing.any()) and not features.categorical[j])
            if features.categorical[j]:
                codes = col[~missing].astype(np.int64)
                counts = np.bincount(codes, minlength=len(features.levels[j]))
                base = int(np.argmax(counts))
                self.keep_.append([k for k in range(len(features.levels[j])) if k != base and counts[k] > 0])
                self.knots_.append(None)
                continue
            self.keep_.append([])
            filled = col[~missing]
            med = float(np.median(filled)) if filled.size else 0.0
            sd = float(np.std(filled)) if filled.size else 1.0
            self.center_[j], self.scale_[j] = med, sd if sd > 0 else 1.0
            qs: Floats = (
                np.unique(np.quantile((filled - med) / self.scale_[j], [0.05, 0.35, 0.65, 0.95]))
                if filled.size
                else np.zeros(0)
            )
            self.knots_.append(np.asarray(qs) if bends and len(qs) >= 3 else None)
        return self

    def transform(self, features: Features) -> tuple[Floats, npt.NDArray[np.int64]]:
        """The design matrix and, per column, the index of the feature it belongs to."""
        blocks: list[Floats] = []
        groups: list[int] = []
        for j in range(features.x.shape[1]):
            col = features.x[:, j]
            missing = np.isnan(col)
            if features.categorical[j]:
                for k in self.keep_[j]:
                    blocks.append((col == k).astype(np.float64))
                    groups.append(j)
                continue
            z = np.where(missing, 0.0, (col - self.center_[j]) / self.scale_[j])
            z = np.clip(z, -10.0, 10.0)  # a wild test value cannot swing a linear score
            blocks.append(z)
            groups.append(j)
            knots = self.knots_[j]
            if knots is not None:
                for b in _natural_spline(z, knots):
                    blocks.append(b)
                    groups.append(j)
            if self.flag_[j]:
                blocks.append(missing.astype(np.float64))
                groups.append(j)
        x = np.column_stack(blocks) if blocks else np.zeros((features.rows, 0))
        return x, np.asarray(groups, dtype=np.int64)


def _natural_spline(z: Floats, knots: Floats) -> list[Floats]:
    """The non-linear columns of a natural cubic spline basis (Harrell's restricted cubic spline)."""
    k = knots
    last, before = k[-1], k[-2]
    norm = (last - k[0]) ** 2
    out: list[Floats] = []
    for t in k[:-2]:
        term = (
            np.maximum(z - t, 0) ** 3
            - np.maximum(z - before, 0) ** 3 * (last - t) / (last - before)
            + np.maximum(z - last, 0) ** 3 * (before - t) / (last - before)
        )
        out.append(term / norm)
    return out
