"""Which rows count as the outcome of interest: ``--positive`` and its default.

``positive`` may be one value (``satisfied``), several (``1,2``), or, for a numeric outcome,
a comparison (``<=6`` for NPS detractors, ``>=4``). Without it a binary outcome's rarer
class is the positive one (ties: the value that sorts last, so ``1`` over ``0`` and
``yes`` over ``no``); a numeric outcome with more than two values stays continuous (key
drivers explain its variance); anything else needs ``positive``.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["OutcomeError", "Target", "target"]

Floats = npt.NDArray[np.float64]
COMPARISON = re.compile(r"^\s*(<=|>=|<|>)\s*([+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?)\s*$")


class OutcomeError(ValueError):
    """The outcome column cannot define a target as asked."""


@dataclass(frozen=True, slots=True)
class Target:
    """The target per row (NaN where the outcome is missing) and how it was defined."""

    y: Floats
    binary: bool
    positive: str | None  # a description of the positive class (None: continuous)
    op: str = "in"  # "in" (one of ``values``) or a comparison with ``bound``
    values: tuple[str, ...] = ()
    bound: float = 0.0

    @property
    def known(self) -> npt.NDArray[np.bool_]:
        out: npt.NDArray[np.bool_] = ~np.isnan(self.y)
        return out

    def apply(self, labels: list[str | None]) -> Floats:
        """The same definition on other rows (a test file's outcome column)."""
        return _values(labels, self)


def _number(text: str) -> float | None:
    try:
        v = float(text)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def _clean(labels: Sequence[str | None]) -> list[str | None]:
    return [None if v is None or not str(v).strip() else str(v).strip() for v in labels]


def _same(a: str, b: str) -> bool:
    if a == b:
        return True
    x, y = _number(a), _number(b)
    return x is not None and y is not None and x == y


def target(labels: Sequence[str | None], positive: str | None, column: str = "outcome") -> Target:
    """Define the target from an outcome column's cells (text)."""
    cells = _clean(labels)
    counts = Counter(v for v in cells if v is not None)
    if not counts:
        raise OutcomeError(f"outcome column {column!r} is empty")
    numeric = all(_number(v) is not None for v in counts)
    if positive is not None:
        return _positive(cells, counts, positive.strip(), numeric, column)
    if len(counts) == 2:
        (a, na), (b, nb) = sorted(counts.items(), key=lambda kv: _order(kv[0], numeric))
        chosen = a if na < nb else b
        return _equal(cells, [chosen], chosen)
    if len(counts) < 2:
        raise OutcomeError(f"outcome column {column!r} has a single value ({next(iter(counts))!r})")
    if numeric:
        y = np.array([np.nan if v is None else _nan(_number(v)) for v in cells], dtype=np.float64)
        return Target(y, binary=False, positive=None)
    shown = ", ".join(repr(v) for v, _ in counts.most_common(6))
    raise OutcomeError(
        f"outcome column {column!r} has {len(counts)} values ({shown}{' …' if len(counts) > 6 else ''}); "
        "choose the positive one(s) with --positive"
    )


def _nan(v: float | None) -> float:
    return np.nan if v is None else v


def _order(value: str, numeric: bool) -> tuple[float, str]:
    return ((_number(value) or 0.0) if numeric else 0.0, value)


def _positive(
    cells: list[str | None], counts: Counter[str], positive: str, numeric: bool, column: str
) -> Target:
    match = COMPARISON.match(positive)
    if match and positive not in counts:
        if not numeric:
            raise OutcomeError(f"--positive {positive!r} compares numbers, but {column!r} is not numeric")
        op, bound = match.group(1), float(match.group(2))
        y = np.array([np.nan if v is None else _compare(_nan(_number(v)), op, bound) for v in cells])
        t = Target(y, binary=True, positive=f"{column} {op} {bound:g}", op=op, bound=bound)
    else:
        wanted = (
            [positive]
            if any(_same(v, positive) for v in counts)
            else [p.strip() for p in positive.split(",")]
        )
        missing = [w for w in wanted if not any(_same(v, w) for v in counts)]
        if missing:
            shown = ", ".join(repr(v) for v, _ in counts.most_common(8))
            raise OutcomeError(f"--positive {missing[0]!r} is not a value of {column!r} (values: {shown})")
        t = _equal(cells, wanted, ",".join(wanted))
    if np.nansum(t.y) == 0 or np.nansum(t.y) == np.sum(t.known):
        raise OutcomeError(f"with --positive {positive!r} every row of {column!r} falls in one class")
    return t


def _compare(v: float, op: str, bound: float) -> float:
    return float({"<=": v <= bound, "<": v < bound, ">=": v >= bound, ">": v > bound}[op])


def _equal(cells: list[str | None], wanted: list[str], label: str) -> Target:
    y = np.array(
        [np.nan if v is None else float(any(_same(v, w) for w in wanted)) for v in cells], dtype=np.float64
    )
    return Target(y, binary=True, positive=label, values=tuple(wanted))


def _values(labels: list[str | None], spec: Target) -> Floats:
    cells = _clean(labels)
    if not spec.binary:
        return np.array([np.nan if v is None else _nan(_number(v)) for v in cells], dtype=np.float64)
    if spec.op != "in":
        nums = [None if v is None else _number(v) for v in cells]
        return np.array([np.nan if v is None else _compare(v, spec.op, spec.bound) for v in nums])
    return _equal(cells, list(spec.values), spec.positive or "").y
