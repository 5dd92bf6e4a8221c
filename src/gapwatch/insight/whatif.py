"""Key drivers of a workspace's outcome among its moments of truth, and what-if.

**Drivers**: every customer with an answer is described at the moment of the answer by, per
moment of truth, how deep their worst miss there went (0 when never let down there), plus the
number of negative comments; the outcome's relative weights over these
(:func:`~gapwatch.insight.drivers.key_drivers`) say which moments explain it, with bootstrap
intervals.

**What-if**: how much the outcome would move if a moment's miss rate fell to its expectation
(the rate it kept during the detection baseline, the first ``baseline_days`` of its data).
Each customer's misses there are thinned at random to that rate, the journey model re-scores
the journeys, and the change in the predicted share of the positive outcome (e.g. detractors)
is averaged over 20 draws, with a 95 % bootstrap interval over customers. It is the model's
answer, not an experiment: it assumes the other moments stay as they were.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from gapwatch.insight.drivers import DriverResult, key_drivers
from gapwatch.insight.encode import Features
from gapwatch.insight.journey import Snapshots

__all__ = ["WhatIf", "moment_drivers", "what_if"]

Floats = npt.NDArray[np.float64]
DRAWS = 20


def moment_drivers(
    snaps: Snapshots,
    rows: npt.NDArray[np.int64],
    y: Floats,
    binary: bool,
    seed: int = 0,
    replicates: int = 200,
) -> DriverResult:
    """Relative weights of the moments (worst gap) and negative comments, at the answer snapshots."""
    feats = snaps.features.take(rows)
    cols, names = [], []
    for m in snaps.moments:
        j = feats.names.index(f"{m}: worst_gap")
        if np.ptp(feats.x[:, j]) > 0:
            cols.append(-feats.x[:, j])  # depth of the worst miss, 0 when never missed
            names.append(m)
    j = feats.names.index("negative_comments")
    if np.ptp(feats.x[:, j]) > 0:
        cols.append(feats.x[:, j])
        names.append("negative comments")
    x = np.column_stack(cols)
    f = Features(x, tuple(names), np.zeros(len(names), dtype=bool), tuple(() for _ in names))
    return key_drivers(f, y, binary, seed=seed, replicates=replicates)


@dataclass(frozen=True, slots=True)
class WhatIf:
    moment: str
    miss_rate: float
    expected_rate: float
    change: float  # predicted share of the positive outcome, counterfactual minus actual
    low: float
    high: float


def what_if(
    predict: Any, features: Features, moment: str, actual: float, expected: float, seed: int = 0
) -> WhatIf:
    """Change in the mean predicted probability if ``moment``'s miss rate fell from ``actual``
    to ``expected``."""
    proba = predict.predict_proba
    base = proba(features)
    if actual <= 0 or expected >= actual:
        return WhatIf(moment, actual, expected, 0.0, 0.0, 0.0)
    keep = expected / actual
    names = features.names
    cols = {p: names.index(f"{moment}: {p}") for p in ("missed", "worst_gap", "days_since_miss")}
    rng = np.random.default_rng(seed)
    delta = np.zeros(features.rows)
    for _ in range(DRAWS):
        x = features.x.copy()
        missed = x[:, cols["missed"]].astype(np.int64)
        kept = rng.binomial(np.maximum(missed, 0), keep)
        gone = (missed > 0) & (kept == 0)
        x[:, cols["missed"]] = kept
        x[gone, cols["worst_gap"]] = 0.0
        x[gone, cols["days_since_miss"]] = 365.0
        for name in ("misses",):
            if name in names:
                x[:, names.index(name)] -= missed - kept
        if "miss_share" in names and "experiences" in names:
            n = np.maximum(x[:, names.index("experiences")], 1.0)
            x[:, names.index("miss_share")] = x[:, names.index("misses")] / n
        delta += proba(Features(x, names, features.categorical, features.levels)) - base
    delta /= DRAWS
    boot = np.random.default_rng(seed + 1).integers(0, delta.size, (200, delta.size))
    means = delta[boot].mean(axis=1)
    return WhatIf(
        moment,
        actual,
        expected,
        float(delta.mean()),
        float(np.quantile(means, 0.025)),
        float(np.quantile(means, 0.975)),
    )
