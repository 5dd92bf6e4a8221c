"""Perspectives use cases: ingest a perception survey file, report scores and gaps per period.

The store is reached through the writer transaction (ingest) or a reader connection (report);
the statistics are :mod:`gapwatch.insight.perspectives`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa

from gapwatch.config.schema import WorkspaceConfig
from gapwatch.domain.experience import IngestCounts
from gapwatch.domain.perceptions import COLUMNS, validate_rows
from gapwatch.insight.perspectives import GapEstimate, PerceptionRows, ScoreEstimate, perception_gaps
from gapwatch.insight.tables import TableError, read_flat

__all__ = ["PerspectivesReport", "ingest_perceptions", "period_label", "perspectives_report"]

MAX_ROWS = 5_000_000


def _header_map(names: list[str]) -> dict[str, str]:
    wanted = {c: c for c in COLUMNS}
    found: dict[str, str] = {}
    for name in names:
        key = name.strip().lower()
        if key in wanted and key not in found:
            found[key] = name
    missing = [c for c in COLUMNS if c not in found]
    if missing:
        raise TableError(
            f"the perception file lacks column(s): {', '.join(missing)} (needs: {', '.join(COLUMNS)})"
        )
    return found


def ingest_perceptions(
    store: Any,
    config: WorkspaceConfig,
    path: Path,
    source: str = "perceptions",
    now: dt.datetime | None = None,
) -> IngestCounts:
    """Validate and store a perception survey file; rejected rows are kept with their reason."""
    from gapwatch.adapters.duckdb_perceptions import write_batch

    flat = read_flat(path)
    if flat.rows > MAX_ROWS:
        raise TableError(f"{path}: {flat.rows:,} rows (at most {MAX_ROWS:,} per file)")
    names = _header_map(flat.names)
    columns = {c: flat.table.column(names[c]).to_pylist() for c in COLUMNS}
    rows = [{c: columns[c][i] for c in COLUMNS} for i in range(flat.rows)]
    stamp = now or dt.datetime.now(dt.UTC)
    p = config.perspectives
    batch = validate_rows(
        rows,
        silos=set(config.silos),
        dimensions=set(p.dimensions),
        scale=p.scale,
        timezone=config.workspace.timezone,
        now=stamp,
    )
    with store.transaction() as con:
        return write_batch(con, source, path.name, batch, store.pseudonym, stamp)


def period_label(when: dt.datetime, period: str, zone: ZoneInfo) -> str:
    """``2025-Q1`` or ``2025-03``, in the workspace time zone.

    Examples
    --------
    >>> period_label(dt.datetime(2025, 3, 31, 23, tzinfo=dt.UTC), "quarter", ZoneInfo("Asia/Tokyo"))
    '2025-Q2'
    """
    local = when.astimezone(zone)
    if period == "month":
        return f"{local.year}-{local.month:02d}"
    return f"{local.year}-Q{(local.month - 1) // 3 + 1}"


@dataclass(slots=True)
class PerspectivesReport:
    scores: list[ScoreEstimate] = field(default_factory=list)
    gaps: list[GapEstimate] = field(default_factory=list)
    answers: int = 0
    respondents: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return {
            "answers": self.answers,
            "respondents": self.respondents,
            "scores": [asdict(s) for s in self.scores],
            "gaps": [{**asdict(g), "n": list(g.n)} for g in self.gaps],
        }


def perspectives_report(
    con: Any, config: WorkspaceConfig, *, period: str | None = None, pooled: bool = False
) -> PerspectivesReport:
    """Scores and gaps per dimension × silo × period (``pooled``: all periods as one)."""
    from gapwatch.adapters.duckdb_perceptions import read_answers

    table: pa.Table = read_answers(con)
    if table.num_rows == 0:
        return PerspectivesReport()
    zone = ZoneInfo(config.workspace.timezone)
    every = period or config.perspectives.period
    when = table.column("answered_at").to_pylist()
    labels = ["all" if pooled else period_label(w, every, zone) for w in when]
    rows = PerceptionRows(
        respondent=table.column("respondent_key").to_pylist(),
        perspective=table.column("perspective").to_pylist(),
        silo=table.column("silo").to_pylist(),
        dimension=table.column("dimension").to_pylist(),
        kind=table.column("kind").to_pylist(),
        score=np.asarray(table.column("score").to_numpy(), dtype=np.float64),
        period=labels,
    )
    scores, gaps = perception_gaps(rows)
    who: dict[str, set[str]] = {}
    for r, p in zip(rows.respondent, rows.perspective, strict=True):
        who.setdefault(p, set()).add(r)
    return PerspectivesReport(scores, gaps, table.num_rows, {k: len(v) for k, v in sorted(who.items())})
