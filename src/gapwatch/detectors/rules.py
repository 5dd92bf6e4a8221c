"""Western Electric and Nelson run rules, vectorised over streams.

Definitions follow Western Electric (1956, *Statistical Quality Control Handbook*) and
Nelson (1984, "The Shewhart control chart — tests for special causes", JQT 16(4):237-239):

========  ========  ==========================================================
WE        Nelson    pattern
========  ========  ==========================================================
we1       nelson1   a point beyond the control limits
we2       nelson5   2 of 3 in a row beyond 2 sigma, same side
we3       nelson6   4 of 5 in a row beyond 1 sigma, same side
we4       --        8 in a row strictly on one side of the centre line
--        nelson2   9 in a row strictly on one side of the centre line
--        nelson3   6 in a row steadily increasing or decreasing (a tie breaks it)
--        nelson4   14 in a row alternating up and down (a tie breaks it)
--        nelson7   15 in a row within 1 sigma (zone C), either side
--        nelson8   8 in a row beyond 1 sigma, with points on both sides
========  ========  ==========================================================

Conventions (R qcc's, and the SPC issue's):

- A run rule flags the point at which its pattern is complete and every later point of
  the same run; a zone rule (2 of 3, 4 of 5) flags a point only when that point is itself
  beyond the zone.
- Zones are in sigma units of each point (``se``), so with variable sample sizes a point's
  zone follows its own limits.  Limits and zones compare strictly: a point exactly at 1σ
  is neither within zone C nor beyond it.
- A point on the centre line breaks a side run (it is on neither side) and counts as
  within zone C; a tie (two equal consecutive points) breaks a trend and an alternation.
- A missing period (NaN) is skipped: it neither breaks nor extends a run, and the rules
  run over each stream's plotted points in order (2 of 3 means 2 of 3 plotted points).
  A late start is the special case of missing periods before the first point.  A point
  without a centre line or standard error (a stream with no baseline to set limits) is
  not plotted either, so it is never flagged.

Zone rules raise the false-alarm rate (Champ & Woodall 1987: ARL₀ 370 → 92 for WE 1-4),
which is why the default is ``we1`` alone.

Every rule is computed on boolean arrays: the memberships of each point (sides, zones,
up/down steps) are computed once and shared by all rules; "the last n points all hold"
is log2(n) ANDs of shifted copies, a window count is a few uint8 additions.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gapwatch.detectors.base import BoolArray, FloatArray

__all__ = ["PRESETS", "RULES", "RuleBuffer", "evaluate_rules", "parse_rules"]

RULES = ("we1", "we2", "we3", "we4", *(f"nelson{i}" for i in range(1, 9)))
PRESETS: dict[str, tuple[str, ...]] = {
    "we": ("we1", "we2", "we3", "we4"),
    "nelson": tuple(f"nelson{i}" for i in range(1, 9)),
    "anhoej": ("anhoej",),
    "none": (),
}
LOOKBACK = 15  # points the longest bounded pattern (nelson7) spans; nelson8 keeps run state
_ALIAS = {"nelson1": "we1", "nelson5": "we2", "nelson6": "we3"}
BLOCK = 512  # streams per block: bounds the working arrays, whatever the number of streams


def parse_rules(spec: str | Iterable[str]) -> tuple[str, ...]:
    """Expand a comma list of rule names and presets (``we``, ``nelson``, ``anhoej``, ``none``)."""
    items = [s.strip().lower() for s in (spec.split(",") if isinstance(spec, str) else spec)]
    out: list[str] = []
    for item in filter(None, items):
        names = PRESETS.get(item, (item,))
        for name in names:
            if name not in RULES and name != "anhoej":
                raise ValueError(
                    f"unknown rule {item!r} (known: {', '.join(RULES)}, presets {', '.join(PRESETS)})"
                )
            if name not in out:
                out.append(name)
    return tuple(out)


# ------------------------------------------------------------------ boolean building blocks
# Memberships live in arrays of shape (streams, T + PAD) whose PAD last columns are False,
# used flattened: a shift along the flat array is one contiguous operation, and a pattern
# spanning at most PAD + 1 points can never run from one stream into the next.
PAD = 16


def _full_run(cond: BoolArray, n: int, out: BoolArray, tmp: BoolArray) -> BoolArray:
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


def _run_length(cond: BoolArray) -> NDArray[np.int64]:
    """Length of the run of True ending at each position (0 where False), per row."""
    s, t = cond.shape
    flat_false = ~cond.ravel()
    seen = np.cumsum(flat_false)
    where_false = np.concatenate([[-1], np.flatnonzero(flat_false)])
    pos = np.arange(s * t).reshape(s, t)
    last = where_false[seen].reshape(s, t)
    row_start = (np.arange(s) * t)[:, None]
    return np.asarray(pos - np.maximum(last, row_start - 1), dtype=np.int64)


# ------------------------------------------------------------------ shared memberships
class _Points:
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
        pool: dict[tuple[str, str, int], NDArray[Any]],
    ) -> None:
        self.pool, self.n_rows, self.width = pool, x.shape[0], x.shape[1]
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
            arr = self.pool[key] = np.empty((max(self.n_rows, BLOCK), self.width + pad), dtype=dtype)
        return arr[: self.n_rows]

    def padded(self, name: str) -> BoolArray:
        """A padded working array, flat.

        Its padding is whatever was there: every operation below combines padded arrays
        elementwise or shifted, so results computed from memberships (whose padding is
        False) have False padding too.
        """
        return self.buf(name, pad=PAD).reshape(-1)

    def grid(self, flat: BoolArray) -> BoolArray:
        """The (streams, T) view of a padded flat array."""
        return flat.reshape(self.n_rows, -1)[:, : self.width]

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


def _zone(p: _Points, side: str, need: int, of: int, out: BoolArray) -> None:
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


def _side_runs(p: _Points) -> tuple[BoolArray, BoolArray]:
    """8 in a row above / below the centre line (WE 4; Nelson 2 extends them by one)."""
    if "run8_above" not in p._made:
        for side in ("above", "below"):
            p._made[f"run8_{side}"] = _full_run(p.get(side), 8, p.padded(f"run8_{side}"), p.padded("tmp"))
    return p._made["run8_above"], p._made["run8_below"]


def _side_run(p: _Points, n: int, out: BoolArray) -> None:
    above, below = _side_runs(p)
    if n == 8:
        np.logical_or(above, below, out=out)
        return
    other = p.padded("other")  # n = 9: 8 in a row ending here and at the point before
    out[:1] = other[:1] = False
    np.logical_and(above[1:], above[:-1], out=out[1:])
    np.logical_and(below[1:], below[:-1], out=other[1:])
    out |= other


def _trend(p: _Points, out: BoolArray, n: int = 6) -> None:
    other, tmp = p.padded("other"), p.padded("tmp")
    _full_run(p.get("up"), n - 1, out, tmp)
    _full_run(p.get("down"), n - 1, other, tmp)
    out |= other


def _alternating(p: _Points, out: BoolArray, n: int = 14) -> None:
    up, down = p.get("up"), p.get("down")
    alt, tmp = p.padded("other"), p.padded("tmp")
    alt[:1] = tmp[:1] = False
    np.logical_and(up[1:], down[:-1], out=alt[1:])
    np.logical_and(down[1:], up[:-1], out=tmp[1:])
    alt |= tmp
    _full_run(alt, n - 2, out, tmp)


def _stratification(p: _Points, out: BoolArray, n: int = 15) -> None:
    _full_run(p.get("within1"), n, out, p.padded("tmp"))


def _mixture(p: _Points, out: BoolArray, n: int = 8) -> None:
    """n in a row beyond 1σ whose run (from its start) has points on both sides.

    The pattern is complete where the last n points are beyond 1σ and include both sides
    (a side switch among their n - 1 steps); every later point of the same run is flagged
    too.  Completions are rare in control, so that last step (a segmented scan) runs on
    the streams that have one only.
    """
    above, beyond = p.get("above1"), p.get("beyond1")
    _full_run(beyond, n, out, p.padded("tmp"))
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


_SEQUENCE: dict[str, Callable[[_Points, BoolArray], None]] = {
    "we2": lambda p, out: _zone(p, "2", 2, 3, out),
    "we3": lambda p, out: _zone(p, "1", 4, 5, out),
    "we4": lambda p, out: _side_run(p, 8, out),
    "nelson2": lambda p, out: _side_run(p, 9, out),
    "nelson3": _trend,
    "nelson4": _alternating,
    "nelson7": _stratification,
    "nelson8": _mixture,
}


def evaluate_rules(
    statistic: FloatArray,
    center: FloatArray,
    se: FloatArray,
    lcl: FloatArray,
    ucl: FloatArray,
    rules: Iterable[str],
    *,
    z: FloatArray | None = None,
) -> dict[str, BoolArray]:
    """Flags per rule, each a bool array (S, T).

    Parameters
    ----------
    statistic, center, lcl, ucl : ndarray (S, T)
        The plotted statistic, centre line and (clipped) control limits.
    se : ndarray (S, T)
        Standard error of the statistic at each point: zones are ``center ± k·se``.
    rules : iterable of str
        Rule names (see module docstring); ``anhoej`` is ignored here (see ``runchart``).
    z : ndarray (S, T), optional
        The standardised statistic ``(statistic - center) / se`` when the chart has it
        already (or on a better scale: count charts standardise the rate).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[0.5, 0.4, np.nan, 0.3, 0.6, 0.2, 0.1, 0.7, 0.5, -0.2]])
    >>> zero, one = np.zeros_like(x), np.ones_like(x)
    >>> np.flatnonzero(evaluate_rules(x, zero, one, zero - 3, zero + 3, ["we4"])["we4"]).tolist()
    [8]
    """
    names = [r for r in rules if r != "anhoej"]
    x = np.asarray(statistic, dtype=float)
    keys = list(dict.fromkeys(_ALIAS.get(r, r) for r in names))
    s, t = x.shape
    # flags are written in place into padded arrays (we1: plain); the results are (S, T) views
    done = {key: np.empty((s, t if key == "we1" else t + PAD), dtype=bool) for key in keys}
    if keys and x.size:
        args = [np.broadcast_to(a, x.shape) for a in (center, se, lcl, ucl)]
        zz = None if z is None else np.broadcast_to(z, x.shape)
        pool = _pool()
        for r0 in range(0, s, BLOCK):
            rows = slice(r0, r0 + BLOCK)
            block = {k: v[rows] for k, v in done.items()}
            c, e, lo, hi = (a[rows] for a in args)
            _evaluate_block(x[rows], c, e, lo, hi, None if zz is None else zz[rows], block, pool)
    out: dict[str, BoolArray] = {}
    used: set[str] = set()
    for name in names:  # a rule and its alias (we1, nelson1) get arrays of their own
        key = _ALIAS.get(name, name)
        out[name] = done[key][:, :t].copy() if key in used else done[key][:, :t]
        used.add(key)
    return out


_LOCAL = threading.local()


def _pool() -> dict[tuple[str, str, int], NDArray[Any]]:
    """This thread's working arrays, kept between calls (a few MB at most).

    Fresh pages cost more than the rules themselves on some machines (a VM faults every
    page in), so blocks reuse the same arrays.
    """
    pool: dict[tuple[str, str, int], NDArray[Any]] | None = getattr(_LOCAL, "pool", None)
    if pool is None:
        pool = _LOCAL.pool = {}
    return pool


def _not_plotted(x: FloatArray, center: FloatArray, se: FloatArray) -> BoolArray:
    """Points without a value, a centre line or a standard error: skipped by every rule.

    A stream with no baseline (no limits) gets no signals, and a gap in the centre line
    is a gap in the chart.
    """
    missing = np.isnan(x)
    for part in (center, se):
        if part.size and np.isnan(part.min()):  # a reduction first: usually nothing is missing
            missing |= np.isnan(part)
    return missing


def _evaluate_block(
    x: FloatArray,
    center: FloatArray,
    se: FloatArray,
    lcl: FloatArray,
    ucl: FloatArray,
    z: FloatArray | None,
    out: dict[str, BoolArray],
    pool: dict[tuple[str, str, int], NDArray[Any]],
) -> None:
    """Flags of every rule in ``out`` (padded arrays) for a block of streams, in place."""
    missing = _not_plotted(x, center, se)
    gaps = bool(missing.any())
    points: _Points | None = None
    t = x.shape[1]
    for key, padded in out.items():
        flags = padded[:, :t]
        if key == "we1":
            np.greater(x, ucl, out=flags)  # NaN compares False
            flags |= x < lcl
        else:
            if points is None:
                points = _Points(x, center, se, z, missing if gaps else None, pool)
            _SEQUENCE[key](points, padded.reshape(-1))
            points.unpack(padded)
        if gaps:
            flags &= ~missing


class RuleBuffer:
    """Rule state for advancing many streams one period at a time.

    Keeps each stream's last ``width`` plotted points (every bounded pattern spans at most
    15 points) and, for Nelson 8, the length of the current run beyond 1σ and the sides
    seen in it, so ``push`` over a series gives exactly the flags of ``evaluate_rules`` on
    the whole series, however long a run lasts.
    """

    def __init__(self, n_streams: int, rules: Iterable[str], width: int = 64) -> None:
        if width < LOOKBACK:
            raise ValueError(f"width must be at least {LOOKBACK}, got {width}")
        self.rules = tuple(rules)
        self.width = width
        self._data = np.full((4, n_streams, width), np.nan)  # statistic, z, lcl, ucl
        self._run = np.zeros(n_streams, dtype=np.int64)  # Nelson 8: points beyond 1σ in a row
        self._seen = np.zeros((2, n_streams), dtype=bool)  # ... and the sides seen in that run

    def push(
        self,
        statistic: FloatArray,
        center: FloatArray,
        se: FloatArray,
        lcl: FloatArray,
        ucl: FloatArray,
        *,
        z: FloatArray | None = None,
    ) -> dict[str, BoolArray]:
        """Add one point per stream (NaN: no point this period); flags of that point, (S,)."""
        x = np.asarray(statistic, dtype=float)
        if z is None:
            with np.errstate(divide="ignore", invalid="ignore"):
                z = (x - center) / se
        new = np.stack([np.broadcast_to(np.asarray(a, dtype=float), x.shape) for a in (x, z, lcl, ucl)])
        obs = ~_not_plotted(x, np.asarray(center, dtype=float), np.asarray(se, dtype=float))
        shifted = np.concatenate([self._data[:, :, 1:], new[:, :, None]], axis=2)
        self._data = np.where(obs[None, :, None], shifted, self._data)
        xs, zs, lo, hi = self._data
        bounded = [r for r in self.rules if r != "nelson8"]
        flags = {k: v[:, -1] & obs for k, v in evaluate_rules(xs, xs, xs, lo, hi, bounded, z=zs).items()}
        if "nelson8" in self.rules:
            sides = np.stack([new[1] > 1, new[1] < -1])
            beyond = sides.any(axis=0)
            self._run = np.where(obs, np.where(beyond, self._run + 1, 0), self._run)
            self._seen = np.where(obs, beyond & (self._seen | sides), self._seen)
            flags["nelson8"] = obs & (self._run >= 8) & self._seen.all(axis=0)
        return {r: flags[r] for r in self.rules if r in flags}
