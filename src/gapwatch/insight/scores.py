"""How good a probability is: ROC AUC, accuracy at 0.5, Brier score, and a reliability table."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.stats import rankdata

__all__ = ["Reliability", "auc", "binary_scores", "reliability"]

Floats = npt.NDArray[np.float64]


def auc(y: Floats, p: Floats) -> float | None:
    """ROC AUC by the rank-sum (Mann-Whitney) identity; ties count one half; None without both classes.

    Examples
    --------
    >>> auc(np.array([0, 0, 1, 1.0]), np.array([0.1, 0.4, 0.35, 0.8]))
    0.75
    """
    pos = y == 1
    n1, n0 = int(pos.sum()), int((~pos).sum())
    if n1 == 0 or n0 == 0:
        return None
    ranks = rankdata(p)
    return float((ranks[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def binary_scores(y: Floats, p: Floats) -> tuple[float | None, float | None, float | None]:
    """(AUC, accuracy at 0.5, Brier score); None where there are no rows (or one class for AUC)."""
    if y.size == 0:
        return None, None, None
    accuracy = float(np.mean((p >= 0.5) == (y == 1)))
    brier = float(np.mean((p - y) ** 2))
    return auc(y, p), accuracy, brier


@dataclass(frozen=True, slots=True)
class Reliability:
    """Calibration by bins of predicted probability (equal counts)."""

    predicted: list[float]  # mean predicted probability per bin
    observed: list[float]  # share of positives per bin
    n: list[int]
    ece: float  # expected calibration error: count-weighted mean |observed − predicted|


def reliability(y: Floats, p: Floats, bins: int = 10) -> Reliability:
    """Reliability table over ``bins`` equal-count bins of ``p``."""
    order = np.argsort(p, kind="stable")
    parts = [part for part in np.array_split(order, min(bins, max(1, y.size))) if part.size]
    pred = [float(p[i].mean()) for i in parts]
    obs = [float(y[i].mean()) for i in parts]
    n = [int(i.size) for i in parts]
    total = max(1, sum(n))
    ece = float(sum(k * abs(o - q) for k, o, q in zip(n, obs, pred, strict=True)) / total)
    return Reliability(pred, obs, n, ece)
