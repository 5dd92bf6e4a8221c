"""The boolean machinery behind ``rules``: memberships, patterns, blocks (internal).

Every rule is computed on boolean arrays.  The memberships of each point (sides of the
centre line, zones, up/down steps) are computed once per call and shared by the Western
Electric and Nelson rules; "the last n points all hold" is log2(n) ANDs of shifted copies,
a window count a few uint8 additions.  Memberships live in arrays of shape
(streams, T + PAD) whose PAD last columns are False, used flattened: a shift along the flat
array is one contiguous operation, and no pattern runs from one stream into the next.
Streams are processed in blocks whose working arrays are kept per thread between calls.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gapwatch.detectors.base import BoolArray, FloatArray

__all__ = ["PAD", "PATTERNS", "Points", "evaluate_block", "full_run", "not_plotted", "pool"]

Pool = dict[tuple[str, str, int], NDArray[Any]]

PAD = 16  # False columns after each stream: longer than any bounded pattern (15 points)


def full_run(cond: BoolArray, n: int, out: BoolArray, tmp: BoolArray) -> BoolArray:
    """``out`` = True where the last ``n`` positions (this one included) are all True (1-D).

    Doubling: a result covering ``have`` positions ANDed with itself shifted by
    ``step <= have`` covers ``have + step``; the steps alternate between ``tmp`` and
    ``out`` (both distinct from ``cond``) so that the last one lands in ``out``.
    """
    steps: list[int] = []
    have = 1
    while have < n:
        steps.append(min(have, n - have))
        have += steps[-1]
    if not steps:
        out[...] = cond
        return out
    src = cond
    for i, step in enumerate(steps):
        dst = out if (len(steps) - 1 - i) % 2 == 0 else tmp
        dst[:step] = False
        np.logical_and(src[step:], src[:-step], out=dst[step:])
        src = dst
    return out


# ------------------------------------------------------------------ shared memberships
class Points:
    """A block of streams' plotted points and their memberships, each computed once.

    Rows with a missing period between two points are packed (points moved to the front,
    in order) so that a gap neither breaks nor extends a run; leading and trailing
    missing periods need no packing (no rule looks forward, and a missing point is in
    no zone), so most rows are used as they are.  Working arrays come from ``pool``,
    allocated once and reused by every block.
    """

    def __init__(
        self,
        x: FloatArray,
        center: FloatArray,
        se: FloatArray,
        z: FloatArray | None,
        missing: BoolArray | None,
        pool: Pool,
        block: int,
    ) -> None:
        self.pool, self.block, self.n_rows, self.width = pool, block, x.shape[0], x.shape[1]
        self._made: dict[str, NDArray[Any]] = {}
        self.rows = np.empty(0, dtype=np.intp)
        if missing is not None:
            starts = ~missing
            starts[:, 1:] &= missing[:, :-1]  # a point right after a gap (or at t = 0)
            self.rows = np.flatnonzero(np.count_nonzero(starts, axis=1) > 1)
        self._source = (x, center, se, z)
        if self.rows.size:
            assert missing is not None
            self._obs = ~missing[self.rows]
            self._dest = np.arange(self.width) < self._obs.sum(axis=1)[:, None]
            x = self._pack(x, self.buf("x", np.float64))
        self.x = x

    def _pack(self, values: FloatArray, into: FloatArray) -> FloatArray:
        """``values`` with the rows that have gaps packed, in the working array ``into``."""
        if into is not values:
            into[...] = values
        packed = np.full(self._obs.shape, np.nan)
        packed[self._dest] = into[self.rows][self._obs]
        into[self.rows] = packed
        return into

    @property
    def z(self) -> FloatArray:
        """The standardised points (computed on first use: trends need only the points)."""
        if "z" not in self._made:
            x, center, se, z = self._source
            if z is None:
                z = self.buf("z", np.float64)
                with np.errstate(divide="ignore", invalid="ignore"):
                    np.subtract(x, center, out=z)
                    np.divide(z, se, out=z)  # se = 0: ±inf (beyond every zone) or NaN (on the centre)
            if self.rows.size:
                z = self._pack(z, self.buf("z", np.float64))
            self._made["z"] = z
        return np.asarray(self._made["z"], dtype=float)

    def buf(self, name: str, dtype: type[np.generic] = np.bool_, pad: int = 0) -> NDArray[Any]:
        """A working array of this block's shape (plus ``pad`` columns), reused across blocks."""
        key = (name, np.dtype(dtype).str, pad)
        arr = self.pool.get(key)
        if arr is None or arr.shape[0] < self.n_rows or arr.shape[1] != self.width + pad:
            arr = self.pool[key] = np.empty((max(self.n_rows, self.block), self.width + pad), dtype=dtype)
        return arr[: self.n_rows]

    def padded(self, name: str) -> BoolArray:
        """A padded working array, flat.

        Its padding is whatever was there: every operation below combines padded arrays
        elementwise or shifted, so results computed from memberships (whose padding is
        False) have False padding too.
        """
        return self.buf(name, pad=PAD).reshape(-1)

    def unpack(self, out: BoolArray) -> None:
        """Flags of packed rows (in the (S, T + PAD) array ``out``) moved to the points' own periods."""
        if self.rows.size:
            flags = out[:, : self.width]
            back = np.zeros(self._obs.shape, dtype=bool)
            back[self._obs] = flags[self.rows][self._dest]
            flags[self.rows] = back

    def get(self, name: str) -> BoolArray:
        """A membership by name (``above``, ``below1``, ``within1``, ``up``, ...), flat and padded."""
        if name not in self._made:
            out = self.buf(name, pad=PAD)
            if name in ("up", "down"):  # the step from the previous point; a tie is neither
                x = self.x_padded()
                op = np.greater if name == "up" else np.less
                flat = out.reshape(-1)
                flat[:1] = False
                op(x[1:], x[:-1], out=flat[1:])  # NaN padding: no step across streams
            elif name in _BOTH:  # beyond a zone on one side: |z| beyond it, and that side
                np.logical_and(self.get(_BOTH[name][0]), self.get(_BOTH[name][1]), out=out.reshape(-1))
            else:
                out[:, self.width :] = False
                self._make(name, out[:, : self.width])
            self._made[name] = out.reshape(-1)
        return self._made[name]

    def x_padded(self) -> FloatArray:
        """The points with NaN padding, flat."""
        if "x" not in self._made:
            xp = self.buf("xp", np.float64, pad=PAD)
            xp[:, : self.width] = self.x
            xp[:, self.width :] = np.nan
            self._made["x"] = xp.reshape(-1)
        return self._made["x"]

    def _make(self, name: str, out: BoolArray) -> None:
        op, k = _COMPARE[name]
        if name in ("above", "below"):
            op(self.z, k, out=out)
            return
        if "absz" not in self._made:
            self._made["absz"] = np.abs(self.z, out=self.buf("absz", np.float64))
        op(self._made["absz"], k, out=out)


# memberships from one comparison each (NaN compares False: a missing point is in no zone)
_COMPARE: dict[str, tuple[np.ufunc, float]] = {
    "above": (np.greater, 0.0),
    "below": (np.less, 0.0),
    "beyond1": (np.greater, 1.0),  # of |z|
    "beyond2": (np.greater, 2.0),
    "within1": (np.less, 1.0),
}
_BOTH = {
    "above1": ("beyond1", "above"),
    "below1": ("beyond1", "below"),
    "above2": ("beyond2", "above"),
    "below2": ("beyond2", "below"),
}


def _zone(p: Points, side: str, need: int, of: int, out: BoolArray) -> None:
    """Points beyond a zone on one side with at least ``need`` of the last ``of`` there too."""
    count, other = p.padded("count").view(np.uint8), p.padded("other")
    for name, dst in ((f"above{side}", out), (f"below{side}", other)):
        beyond = p.get(name)
        ones = beyond.view(np.uint8)
        count[...] = ones
        for k in range(1, of):
            count[k:] += ones[:-k]
        np.greater_equal(count, need, out=dst)
        dst &= beyond
    out |= other


def _side_runs(p: Points) -> tuple[BoolArray, BoolArray]:
    """8 in a row above / below the centre line (WE 4; Nelson 2 extends them by one)."""
    if "run8_above" not in p._made:
        for side in ("above", "below"):
            p._made[f"run8_{side}"] = full_run(p.get(side), 8, p.padded(f"run8_{side}"), p.padded("tmp"))
    return p._made["run8_above"], p._made["run8_below"]


def _side_run(p: Points, n: int, out: BoolArray) -> None:
    above, below = _side_runs(p)
    if n == 8:
        np.logical_or(above, below, out=out)
        return
    other = p.padded("other")  # n = 9: 8 in a row ending here and at the point before
    out[:1] = other[:1] = False
    np.logical_and(above[1:], above[:-1], out=out[1:])
    np.logical_and(below[1:], below[:-1], out=other[1:])
    out |= other


def _trend(p: Points, out: BoolArray, n: int = 6) -> None:
    other, tmp = p.padded("other"), p.padded("tmp")
    full_run(p.get("up"), n - 1, out, tmp)
    full_run(p.get("down"), n - 1, other, tmp)
    out |= other


def _alternating(p: Points, out: BoolArray, n: int = 14) -> None:
    up, down = p.get("up"), p.get("down")
    alt, tmp = p.padded("other"), p.padded("tmp")
    alt[:1] = tmp[:1] = False
    np.logical_and(up[1:], down[:-1], out=alt[1:])
    np.logical_and(down[1:], up[:-1], out=tmp[1:])
    alt |= tmp
    full_run(alt, n - 2, out, tmp)


def _stratification(p: Points, out: BoolArray, n: int = 15) -> None:
    full_run(p.get("within1"), n, out, p.padded("tmp"))


def _mixture(p: Points, out: BoolArray, n: int = 8) -> None:
    """n in a row beyond 1σ whose run (from its start) has points on both sides.

    The pattern is complete where the last n points are beyond 1σ and include both sides
    (a side switch among their n - 1 steps); every later point of the same run is flagged
    too.  Completions are rare in control, so that last step (a segmented scan) runs on
    the streams that have one only.
    """
    above, beyond = p.get("above1"), p.get("beyond1")
    full_run(beyond, n, out, p.padded("tmp"))
    if not out.any():
        return
    switch, tmp = p.padded("switch"), p.padded("tmp")  # beyond at t - 1 and t, on different sides
    switch[:1] = False
    np.not_equal(above[1:], above[:-1], out=switch[1:])
    switch[1:] &= beyond[:-1]
    switch &= beyond
    have = 1  # any switch among the last n - 1 steps (OR doubling)
    while have < n - 1:
        step = min(have, n - 1 - have)
        tmp[:step] = False
        tmp[step:] = switch[:-step]
        switch |= tmp
        have += step
    out &= switch
    grid = out.reshape(p.n_rows, -1)
    rows = np.flatnonzero(grid.any(axis=1))
    if rows.size:
        done = grid[rows].reshape(-1)
        runs = beyond.reshape(p.n_rows, -1)[rows].reshape(-1)
        count = np.cumsum(done, dtype=np.int64)  # completions so far
        at_break = np.maximum.accumulate(np.where(runs, 0, count))  # ... as of the run's start
        grid[rows] = (runs & (count > at_break)).reshape(rows.size, -1)


PATTERNS: dict[str, Callable[[Points, BoolArray], None]] = {
    "we2": lambda p, out: _zone(p, "2", 2, 3, out),
    "we3": lambda p, out: _zone(p, "1", 4, 5, out),
    "we4": lambda p, out: _side_run(p, 8, out),
    "nelson2": lambda p, out: _side_run(p, 9, out),
    "nelson3": _trend,
    "nelson4": _alternating,
    "nelson7": _stratification,
    "nelson8": _mixture,
}


_LOCAL = threading.local()


def pool() -> Pool:
    """This thread's working arrays, kept between calls (~10 MB at most, see ``rules.BLOCK``).

    Fresh pages cost more than the rules themselves on some machines (a VM faults every
    page in), so blocks reuse the same arrays.
    """
    arrays: Pool | None = getattr(_LOCAL, "pool", None)
    if arrays is None:
        arrays = _LOCAL.pool = {}
    return arrays


def not_plotted(x: FloatArray, center: FloatArray, se: FloatArray) -> BoolArray:
    """Points without a value, a centre line or a standard error: skipped by every rule.

    A stream with no baseline (no limits) gets no signals, and a gap in the centre line
    is a gap in the chart.
    """
    missing = np.isnan(x)
    for part in (center, se):
        if part.size and np.isnan(part.min()):  # a reduction first: usually nothing is missing
            missing |= np.isnan(part)
    return missing


def evaluate_block(
    x: FloatArray,
    center: FloatArray,
    se: FloatArray,
    lcl: FloatArray,
    ucl: FloatArray,
    z: FloatArray | None,
    missing: BoolArray,
    out: dict[str, BoolArray],
    arrays: Pool,
    block: int,
) -> None:
    """Flags of every rule in ``out`` (padded (S, T + PAD) arrays) for a block of streams.

    ``missing`` marks the points not plotted (see ``not_plotted``).
    """
    gaps = bool(missing.any())
    points: Points | None = None
    t = x.shape[1]
    for key, padded in out.items():
        flags = padded[:, :t]
        if key == "we1":
            np.greater(x, ucl, out=flags)  # NaN compares False
            flags |= x < lcl
        else:
            if points is None:
                points = Points(x, center, se, z, missing if gaps else None, arrays, block)
            PATTERNS[key](points, padded.reshape(-1))
            points.unpack(padded)
        if gaps:
            flags &= ~missing
