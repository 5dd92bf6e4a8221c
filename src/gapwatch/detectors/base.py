"""Shared pieces of every chart: the result object, array shaping and baselines.

Every chart works on arrays shaped ``(streams, periods)``; NaN marks a period in which a
stream has no point (it started late, or saw nothing that period).  A single series is the
case ``S = 1``.  The baseline (phase I) is a boolean mask of the same shape: the points
limits are estimated from.  Phase II points are judged against the frozen limits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["BoolArray", "ChartResult", "FloatArray", "as_matrix", "baseline_mask", "per_point", "per_stream"]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


def as_matrix(values: ArrayLike, name: str = "values", copy: bool = True) -> FloatArray:
    """A float array of shape (S, T); a 1-D input is one stream.

    ``copy=False`` may return the input itself (for arrays only read).
    """
    arr = np.array(values, dtype=float) if copy else np.asarray(values, dtype=float)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise ValueError(f"{name}: expected shape (streams, periods), got {arr.shape}")
    return arr


def per_stream(value: ArrayLike | None, n_streams: int, default: float = np.nan) -> FloatArray:
    """A scalar or (S,) parameter broadcast to shape (S,)."""
    if value is None:
        return np.full(n_streams, default)
    return np.broadcast_to(np.asarray(value, dtype=float), (n_streams,)).copy()


def per_point(values: FloatArray, like: FloatArray, missing: BoolArray | None = None) -> FloatArray:
    """A per-stream value (S,) repeated over the periods, NaN where ``like`` is NaN (``missing``)."""
    missing = np.isnan(like) if missing is None else missing
    if missing.any():
        return np.where(missing, np.nan, values[:, None])
    return np.repeat(values[:, None], like.shape[1], axis=1)


def baseline_mask(
    shape: tuple[int, int],
    baseline: ArrayLike | int | None = None,
    exclude: ArrayLike | None = None,
) -> BoolArray:
    """The phase-I mask: which points the limits are estimated from.

    Parameters
    ----------
    shape : (S, T)
        Shape of the data.
    baseline : None, int or bool array
        ``None``: every point; an int ``N``: the first ``N`` periods (``phase1=N``);
        a bool array of shape (S, T) or (T,): that mask.
    exclude : sequence of int or bool array, optional
        Period indices (0-based) or a mask of points left out of the estimate (they are
        still plotted and judged).
    """
    t = shape[1]
    if baseline is None:
        mask = np.ones(shape, dtype=bool)
    elif isinstance(baseline, int | np.integer):
        if baseline < 1:
            raise ValueError(f"phase1 must be >= 1, got {baseline}")
        mask = np.zeros(shape, dtype=bool)
        mask[:, : int(baseline)] = True
    else:
        mask = np.broadcast_to(np.asarray(baseline, dtype=bool), shape).copy()
    if exclude is not None:
        ex = np.asarray(exclude)
        if ex.dtype == bool:
            mask &= ~np.broadcast_to(ex, shape)
        elif ex.size:
            if ex.min() < 0 or ex.max() >= t:
                raise ValueError(f"exclude: index out of range 0..{t - 1}")
            mask[:, ex.astype(int)] = False
    return mask


@dataclass
class ChartResult:
    """A chart over many streams: one value per (stream, period).

    Attributes
    ----------
    chart : ndarray of str, shape (S,)
        The chart used for each stream (``"p"``, ``"pprime"``, ``"ewma"``, ...).
    center, lcl, ucl, statistic : ndarray, shape (S, T)
        Centre line, limits and plotted statistic; NaN where a stream has no point or a
        limit does not apply.  Limits of statistics that cannot be negative are clipped at 0.
    signals : dict of rule name -> bool ndarray (S, T)
        Points flagged by each selected rule (completion-point convention, see ``rules``).
    sigma : ndarray, shape (S,)
        Process standard deviation the limits were built from (NaN for attribute charts).
    baseline : bool ndarray, shape (S, T)
        The phase-I points the limits were estimated from (recorded with every signal).
    extra : dict of str -> ndarray
        Chart-specific values: ``sigma_z`` (S,) for Laney charts, ``statistic_lower`` (S, T)
        for CUSUM, ``se`` (S, T) the standard error of the statistic, ``p_dispersion`` ...
    reason : list of str
        Per stream, why this chart (and its parameters) were used; alerts quote it.
    dispersion : ChartResult or None
        The companion dispersion chart (R, S or MR) of X̄ and I charts.
    runs : dict of str -> ndarray (S,), optional
        Anhøj runs analysis (``n_useful``, ``longest_run``, ``longest_run_max``,
        ``n_crossings``, ``n_crossings_min``, ``signal``) when requested.
    """

    chart: NDArray[np.str_]
    center: FloatArray
    lcl: FloatArray
    ucl: FloatArray
    statistic: FloatArray
    signals: dict[str, BoolArray]
    sigma: FloatArray
    baseline: BoolArray
    extra: dict[str, FloatArray] = field(default_factory=dict)
    reason: list[str] = field(default_factory=list)
    dispersion: ChartResult | None = None
    runs: dict[str, NDArray[Any]] | None = None

    @property
    def shape(self) -> tuple[int, int]:
        """(streams, periods)."""
        s, t = self.statistic.shape
        return int(s), int(t)

    @property
    def flags(self) -> BoolArray:
        """Points flagged by any rule, shape (S, T)."""
        out = np.zeros(self.shape, dtype=bool)
        for v in self.signals.values():
            out |= v
        return out

    def signal_list(self, stream: int = 0) -> list[tuple[int, str]]:
        """``(period index, rule)`` pairs of one stream, by index then rule order."""
        pairs = [(int(i), rule) for rule, m in self.signals.items() for i in np.flatnonzero(m[stream])]
        order = {r: k for k, r in enumerate(self.signals)}
        return sorted(pairs, key=lambda p: (p[0], order[p[1]]))

    def to_dict(self, stream: int = 0) -> dict[str, Any]:
        """One stream in the ``gapwatch chart --json`` shape (NaN left for the caller to null)."""
        out: dict[str, Any] = {
            "chart": str(self.chart[stream]),
            "center": self.center[stream].tolist(),
            "lcl": self.lcl[stream].tolist(),
            "ucl": self.ucl[stream].tolist(),
            "statistic": self.statistic[stream].tolist(),
            "sigma": float(self.sigma[stream]),
            "signals": [{"index": i, "rule": r} for i, r in self.signal_list(stream)],
            "baseline": np.flatnonzero(self.baseline[stream]).tolist(),
        }
        for key, arr in self.extra.items():
            out[key] = arr[stream].tolist() if arr.ndim == 2 else float(arr[stream])
        if self.reason:
            out["reason"] = self.reason[stream]
        if self.dispersion is not None:
            out["dispersion"] = self.dispersion.to_dict(stream)
        if self.runs is not None:
            out["runs"] = {k: v[stream].item() for k, v in self.runs.items()}
        return out
