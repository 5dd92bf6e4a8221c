"""Key drivers and what-if for a workspace: which moments of truth drive its outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gapwatch.config.schema import WorkspaceConfig
from gapwatch.insight.drivers import DriverResult
from gapwatch.insight.journey import snapshots
from gapwatch.insight.journey_service import JourneyModel, _with_text, load_data
from gapwatch.insight.outcome import target
from gapwatch.insight.whatif import WhatIf, moment_drivers, what_if

__all__ = ["WorkspaceDrivers", "miss_rates", "workspace_drivers"]


@dataclass(slots=True)
class WorkspaceDrivers:
    drivers: DriverResult
    positive: str | None
    answers: int
    what_if: list[WhatIf] = field(default_factory=list)


def miss_rates(con: Any, baseline_days: int) -> dict[str, tuple[float, float]]:
    """Per moment: the miss rate over all its experiences, and over its first ``baseline_days`` days."""
    from gapwatch.adapters.duckdb_text import TEXT_SOURCE

    found = con.execute(
        "WITH f AS (SELECT moment, min(period) AS first FROM experiences WHERE source <> ? GROUP BY moment) "
        "SELECT e.moment, avg((e.status = -1)::DOUBLE), "
        "avg(CASE WHEN e.period < f.first + ?::INTEGER THEN (e.status = -1)::DOUBLE END) "
        "FROM experiences e JOIN f USING (moment) WHERE e.source <> ? GROUP BY e.moment",
        [TEXT_SOURCE, baseline_days, TEXT_SOURCE],
    ).fetchall()
    return {str(m): (float(a), float(b if b is not None else a)) for m, a, b in found}


def workspace_drivers(
    con: Any,
    config: WorkspaceConfig,
    model: JourneyModel | None,
    *,
    outcome: str = "nps",
    positive: str | None = "<=6",
    seed: int = 0,
    replicates: int = 200,
) -> WorkspaceDrivers:
    data = load_data(con, outcome)
    if data.answer_customer.size < 30:
        raise ValueError(f"{data.answer_customer.size} {outcome} answers: key drivers need at least 30")
    spec = target(data.answer_value, positive, outcome)
    moments = model.moments if model is not None else None
    snaps = snapshots(_with_text(data, model.text if model is not None else None), moments)
    rows = snaps.last_before(data.answer_customer, data.answer_time)
    keep = rows >= 0
    result = moment_drivers(snaps, rows[keep], spec.y[keep], spec.binary, seed=seed, replicates=replicates)
    found = WorkspaceDrivers(result, spec.positive, int(keep.sum()))
    if model is not None and spec.binary:
        rates = miss_rates(con, config.detection.baseline_days)
        feats = snaps.features.take(rows[keep])
        for m in model.moments:
            if m in rates and f"{m}: missed" in feats.names:
                actual, expected = rates[m]
                found.what_if.append(what_if(model.classifier, feats, m, actual, expected, seed=seed))
        found.what_if.sort(key=lambda w: w.change)
    return found
