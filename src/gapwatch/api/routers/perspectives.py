"""Perspectives: every reader sees each silo's view beside the customers'; answers come in like events."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query

from gapwatch.api.deps import PrincipalDep, ReaderDep, RuntimeDep, access, ensure
from gapwatch.api.schemas_insight import AnswersCreate, CountsPublic, PeriodChoice, PerspectivesPublic
from gapwatch.domain.access import RouteGroup
from gapwatch.domain.perceptions import validate_rows
from gapwatch.insight.perspectives_service import perspectives_report

router = APIRouter(tags=["perspectives"])


@router.get(
    "/perspectives",
    operation_id="get_perspectives",
    response_model=PerspectivesPublic,
    **access(RouteGroup.READ),
)
def get_perspectives(
    principal: PrincipalDep,
    runtime: RuntimeDep,
    con: ReaderDep,
    period: Annotated[
        PeriodChoice | None, Query(description="month or quarter (default: the workspace's)")
    ] = None,
    pooled: Annotated[bool, Query(description="All periods as one.")] = False,
    silo: Annotated[str | None, Query(max_length=64)] = None,
) -> PerspectivesPublic:
    """Each perspective's score and the gaps (leader − customer, employee − customer, P − E) with 95 %
    intervals, per dimension × silo × period; flags significant and widening gaps."""
    report = perspectives_report(con, runtime.config, period=period, pooled=pooled)
    d = report.as_dict()
    if silo is not None:
        d["scores"] = [s for s in d["scores"] if s["silo"] in (silo, "all")]
        d["gaps"] = [g for g in d["gaps"] if g["silo"] in (silo, "all")]
    return PerspectivesPublic.model_validate(d)


@router.post(
    "/perspectives/answers",
    operation_id="ingest_answers",
    response_model=CountsPublic,
    **access(RouteGroup.INGEST, 400, 503),
)
def ingest_answers(body: AnswersCreate, principal: PrincipalDep, runtime: RuntimeDep) -> CountsPublic:
    """Store perception survey answers (one per row); rejected rows are kept with their reason."""
    from gapwatch.adapters.duckdb_perceptions import write_batch

    ensure(principal, RouteGroup.INGEST, source=body.source)
    now = dt.datetime.now(dt.UTC)
    p = runtime.config.perspectives
    rows = [a.model_dump() for a in body.answers]
    batch = validate_rows(
        rows,
        silos=set(runtime.config.silos),
        dimensions=set(p.dimensions),
        scale=p.scale,
        timezone=runtime.config.workspace.timezone,
        now=now,
        first_row=1,
    )
    counts = runtime.write(
        lambda con: write_batch(con, body.source, "api", batch, runtime.store.pseudonym, now)
    )
    return CountsPublic.model_validate(counts.as_dict())
