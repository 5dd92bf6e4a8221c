"""Streams and their charts: every reader (members too) sees every silo's quality signals."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BeforeValidator

from gapwatch.api.deps import PrincipalDep, ReaderDep, RuntimeDep, access
from gapwatch.api.errors import ApiError
from gapwatch.api.schemas import (
    ChartPointPublic,
    ChartSignalPublic,
    KeyFilter,
    StreamChartPublic,
    StreamListPublic,
    StreamPublic,
    StreamState,
)
from gapwatch.domain.access import RouteGroup
from gapwatch.live import read as svc

router = APIRouter(tags=["streams"])
StreamId = Annotated[
    str,
    Path(
        min_length=5,
        max_length=200,
        pattern=svc.STREAM_ID,
        description="moment:segment:metric, e.g. `delivery:premium:delivery_days`; segment `*`: all.",
        examples=["delivery:*:delivery_days"],
    ),
]


def _iso_day(value: object) -> object:
    """Only ``YYYY-MM-DD`` (pydantic would also read ``0`` as a Unix timestamp)."""
    if isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("a day as YYYY-MM-DD")
    return value


Day = Annotated[
    dt.date | None,
    BeforeValidator(_iso_day),
    Query(description="Only periods from / up to this day (YYYY-MM-DD, inclusive)."),
]


@router.get(
    "/streams", operation_id="list_streams", response_model=StreamListPublic, **access(RouteGroup.READ)
)
def list_streams(
    principal: PrincipalDep,
    con: ReaderDep,
    runtime: RuntimeDep,
    silo: KeyFilter = None,
    stage: KeyFilter = None,
    moment: KeyFilter = None,
    state: StreamState | None = None,
) -> StreamListPublic:
    """Every watched stream of every silo, in lifecycle order, with its method and state."""
    found = svc.list_streams(con, runtime.lifecycle, silo=silo, stage=stage, moment=moment, state=state)
    items = [StreamPublic.model_validate(s) for s in found]
    return StreamListPublic(items=items, count=len(items), closed_through=runtime.live.closed_through)


@router.get(
    "/streams/{stream_id}/chart",
    operation_id="get_stream_chart",
    response_model=StreamChartPublic,
    **access(RouteGroup.READ, 404),
)
def get_stream_chart(
    stream_id: StreamId,
    principal: PrincipalDep,
    con: ReaderDep,
    runtime: RuntimeDep,
    since: Day = None,
    until: Day = None,
) -> StreamChartPublic:
    """One stream's chart: per period its statistics, chart points, limits and signals."""
    try:
        chart = svc.stream_chart(con, runtime.lifecycle, stream_id, since=since, until=until)
    except svc.StreamNotFound as exc:
        raise ApiError(404, f"no such stream: {stream_id}") from exc
    return StreamChartPublic(
        stream=StreamPublic.model_validate(chart.stream),
        p_chart=chart.p_chart,
        ewma_chart=chart.ewma_chart,
        closed_through=runtime.live.closed_through,
        points=[ChartPointPublic.model_validate(p) for p in chart.points],
        signals=[ChartSignalPublic.model_validate(s) for s in chart.signals],
    )
