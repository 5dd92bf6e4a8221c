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

Convention (R qcc's): a run rule flags the point at which its pattern is complete and
every later point of the same run; a zone rule (2 of 3, 4 of 5) flags a point only when
that point is itself beyond the zone.  A point on the centre line breaks a run.  Missing
periods (NaN) are skipped: rules run over each stream's plotted points in order.
Zone rules raise the false-alarm rate (Champ & Woodall 1987: ARL₀ 370 → 92 for WE 1-4),
which is why the default is ``we1`` alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
from numpy.typing import NDArray

from gapwatch.detectors.base import BoolArray, FloatArray

__all__ = ["PRESETS", "RULES", "evaluate_rules", "parse_rules"]

RULES = ("we1", "we2", "we3", "we4", *(f"nelson{i}" for i in range(1, 9)))
PRESETS: dict[str, tuple[str, ...]] = {
    "we": ("we1", "we2", "we3", "we4"),
    "nelson": tuple(f"nelson{i}" for i in range(1, 9)),
    "anhoej": ("anhoej",),
    "none": (),
}


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


def _run_length(cond: BoolArray) -> NDArray[np.int64]:
    """Length of the run of True ending at each position (0 where False).

    Computed on the flattened array with cumulative sums (numpy's add.accumulate is much
    faster than maximum.accumulate): the last False at or before each position, per row.
    """
    s, t = cond.shape
    flat_false = ~cond.ravel()
    seen = np.cumsum(flat_false)
    where_false = np.concatenate([[-1], np.flatnonzero(flat_false)])
    pos = np.arange(s * t).reshape(s, t)
    last = where_false[seen].reshape(s, t)
    row_start = (np.arange(s) * t)[:, None]
    return np.asarray(pos - np.maximum(last, row_start - 1), dtype=np.int64)


def _full_run(cond: BoolArray, n: int) -> BoolArray:
    """True where the last ``n`` positions (this one included) are all True."""
    return np.asarray(_window_count(cond, n) >= n, dtype=bool)


def _window_count(cond: BoolArray, w: int) -> NDArray[np.int32]:
    """Number of True among the last ``w`` positions ending at each position."""
    c = np.cumsum(cond, axis=1, dtype=np.int32)
    out = c.copy()
    out[:, w:] -= c[:, :-w]
    return out


def _zone(z: FloatArray, k: float, need: int, of: int) -> BoolArray:
    hi, lo = z > k, z < -k
    return (hi & (_window_count(hi, of) >= need)) | (lo & (_window_count(lo, of) >= need))


def _side_run(z: FloatArray, n: int) -> BoolArray:
    return _full_run(z > 0, n) | _full_run(z < 0, n)


def _trend(x: FloatArray, n: int = 6) -> BoolArray:
    d = np.diff(x, axis=1)
    out = np.zeros(x.shape, dtype=bool)
    out[:, 1:] = _full_run(d > 0, n - 1) | _full_run(d < 0, n - 1)
    return out


def _alternating(x: FloatArray, n: int = 14) -> BoolArray:
    d = np.diff(x, axis=1)
    alt = ((d[:, 1:] > 0) & (d[:, :-1] < 0)) | ((d[:, 1:] < 0) & (d[:, :-1] > 0))
    out = np.zeros(x.shape, dtype=bool)
    out[:, 2:] = _full_run(alt, n - 2)
    return out


def _mixture(z: FloatArray, n: int = 8) -> BoolArray:
    run = _run_length(np.abs(z) > 1)
    # a side occurs within the current run iff the distance since it last occurred is < run
    pos_in_run = _run_length(~(z > 1)) < run
    neg_in_run = _run_length(~(z < -1)) < run
    return np.asarray((run >= n) & pos_in_run & neg_in_run, dtype=bool)


def _compute(name: str, x: FloatArray, z: FloatArray, lcl: FloatArray, ucl: FloatArray) -> BoolArray:
    table: dict[str, Callable[[], BoolArray]] = {
        "we1": lambda: (x > ucl) | (x < lcl),
        "we2": lambda: _zone(z, 2.0, 2, 3),
        "we3": lambda: _zone(z, 1.0, 4, 5),
        "we4": lambda: _side_run(z, 8),
        "nelson2": lambda: _side_run(z, 9),
        "nelson3": lambda: _trend(x),
        "nelson4": lambda: _alternating(x),
        "nelson7": lambda: _full_run(np.abs(z) < 1, 15),
        "nelson8": lambda: _mixture(z),
    }
    alias = {"nelson1": "we1", "nelson5": "we2", "nelson6": "we3"}
    return np.asarray(table[alias.get(name, name)](), dtype=bool)


def evaluate_rules(
    statistic: FloatArray,
    center: FloatArray,
    se: FloatArray,
    lcl: FloatArray,
    ucl: FloatArray,
    rules: Iterable[str],
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
    """
    names = [r for r in rules if r != "anhoej"]
    x = np.asarray(statistic, dtype=float)
    shape = x.shape
    obs = ~np.isnan(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (x - center) / se  # se = 0 gives ±inf (beyond every zone) or NaN (on the centre)
    arrays = [x, z, np.broadcast_to(lcl, shape), np.broadcast_to(ucl, shape)]
    order = None
    if not obs.all():  # move each stream's points to the front so gaps do not break runs
        order = np.argsort(~obs, axis=1, kind="stable")
        arrays = [np.take_along_axis(a, order, axis=1) for a in arrays]
    out: dict[str, BoolArray] = {}
    for name in names:
        flags = _compute(name, *arrays)
        if order is not None:
            back = np.zeros(shape, dtype=bool)
            np.put_along_axis(back, order, flags, axis=1)
            flags = back
        out[name] = flags & obs
    return out


class RuleBuffer:
    """Rule state for advancing many streams one period at a time.

    Keeps each stream's last ``width`` plotted points; every rule above looks back at most
    15 points (a longer run is detected at its 15th point and stays flagged while the
    buffer holds it), so ``push`` over a series gives the flags of ``evaluate_rules`` on the
    whole series, for runs up to ``width`` points long.
    """

    def __init__(self, n_streams: int, rules: Iterable[str], width: int = 64) -> None:
        self.rules = tuple(rules)
        self.width = width
        self._data = np.full((5, n_streams, width), np.nan)

    def push(
        self, statistic: FloatArray, center: FloatArray, se: FloatArray, lcl: FloatArray, ucl: FloatArray
    ) -> dict[str, BoolArray]:
        """Add one point per stream (NaN: no point this period); flags of that point, (S,)."""
        new = np.stack(
            [
                np.broadcast_to(np.asarray(a, dtype=float), statistic.shape)
                for a in (statistic, center, se, lcl, ucl)
            ]
        )
        obs = ~np.isnan(new[0])
        shifted = np.concatenate([self._data[:, :, 1:], new[:, :, None]], axis=2)
        self._data = np.where(obs[None, :, None], shifted, self._data)
        x, c, s, lo, hi = self._data
        flags = evaluate_rules(x, c, s, lo, hi, self.rules)
        return {k: v[:, -1] & obs for k, v in flags.items()}
