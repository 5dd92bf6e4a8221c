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

The vectorised machinery (memberships shared by all rules, shifted boolean arrays over
blocks of streams) is in ``patterns``.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from gapwatch.detectors.base import BoolArray, FloatArray
from gapwatch.detectors.patterns import PAD, evaluate_block, not_plotted, pool

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
BLOCK = 512  # streams per block (fewer for long series): bounds the working arrays
BLOCK_POINTS = 200_000


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


def evaluate_rules(
    statistic: FloatArray,
    center: FloatArray,
    se: FloatArray,
    lcl: FloatArray,
    ucl: FloatArray,
    rules: Iterable[str],
    *,
    z: FloatArray | None = None,
    missing: BoolArray | None = None,
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
    missing : bool ndarray (S, T), optional
        The points that are not plotted (no statistic, centre line or se), when the chart
        knows them; found here otherwise.

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
        gone = not_plotted(x, args[0], args[1]) if missing is None else missing
        arrays = pool()
        block = max(1, min(BLOCK, BLOCK_POINTS // t))
        for r0 in range(0, s, block):
            rows = slice(r0, r0 + block)
            flags = {k: v[rows] for k, v in done.items()}
            c, e, lo, hi = (a[rows] for a in args)
            evaluate_block(
                x[rows], c, e, lo, hi, None if zz is None else zz[rows], gone[rows], flags, arrays, block
            )
    out: dict[str, BoolArray] = {}
    used: set[str] = set()
    for name in names:  # a rule and its alias (we1, nelson1) get arrays of their own
        key = _ALIAS.get(name, name)
        out[name] = done[key][:, :t].copy() if key in used else done[key][:, :t]
        used.add(key)
    return out


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
        obs = ~not_plotted(x, np.asarray(center, dtype=float), np.asarray(se, dtype=float))
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
