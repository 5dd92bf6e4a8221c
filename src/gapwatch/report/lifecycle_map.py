"""The lifecycle at a glance: every moment of truth in stage order with its state, and the overview numbers.

For each moment and metric the map shows one stream: the moment as a whole (all segments) or
the chosen segment's. Its state is one of *out of control* (a worse or better signal within the
current episode), *provisional signal* (the only recent signals are on the open period),
*in control*, *too thin* (not judged yet) or *no expectation* (nothing to score against), with
its miss rate over the last 7 days against the 7 before (the trend) and a sparkline of its miss
rate per period over the chosen window. The overview counts streams per silo and state, open
cases, the median times to acknowledge and to close, and the observed false-alarm rate beside
the designed one.
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass, field

from gapwatch.config.schema import WorkspaceConfig
from gapwatch.domain.lifecycle import Lifecycle
from gapwatch.live.read import StreamSummary, list_streams
from gapwatch.monitor.arrays import ALL_SEGMENTS
from gapwatch.monitor.result import EPISODE_GAP_DAYS
from gapwatch.quality.alerts import FalseAlarmReport, false_alarm_report
from gapwatch.sqlport import Sql, has_tables, rows

__all__ = ["MapCell", "MapStage", "Overview", "SiloNumbers", "lifecycle_map", "overview"]

TREND_DAYS = 7


@dataclass(frozen=True)
class MapCell:
    """One moment × metric on the map."""

    moment: str
    name: str
    metric: str
    stream_id: str | None
    state: str  # "out of control", "provisional signal", "in control", "too thin", "no expectation"
    miss_rate: float | None  # over the last TREND_DAYS days with data
    previous: float | None  # the TREND_DAYS before
    n: int
    spark: list[float] = field(default_factory=list)
    spark_signals: list[bool] = field(default_factory=list)
    segment_shown: str = ALL_SEGMENTS
    segments_out: list[str] = field(default_factory=list)  # segments beneath that are out of control

    @property
    def trend(self) -> str:
        """ "worse", "better" or "steady" (a change under a fifth of the earlier rate is steady)."""
        if self.miss_rate is None or self.previous is None:
            return "steady"
        delta = self.miss_rate - self.previous
        if abs(delta) < max(0.2 * self.previous, 0.005):
            return "steady"
        return "worse" if delta > 0 else "better"


@dataclass(frozen=True)
class MapStage:
    stage: str
    silo: str
    cells: list[MapCell]


def _expected(config: WorkspaceConfig) -> set[tuple[str, str]]:
    return {(e.moment, e.metric) for e in config.expectations}


def _pick(streams: list[StreamSummary], moment: str, metric: str, segment: str) -> StreamSummary | None:
    mine = [s for s in streams if s.moment == moment and s.metric == metric]
    for wanted in (segment, ALL_SEGMENTS, "all"):
        for s in mine:
            if s.segment == wanted:
                return s
    return None


def _recent_signals(con: Sql, since: dt.date) -> dict[str, tuple[int, int]]:
    """Per stream id: (closed signals, provisional signals) since ``since``."""
    if not has_tables(con, "signals"):
        return {}
    found = rows(
        con,
        "SELECT moment || ':' || segment || ':' || metric AS id,"
        " count(*) FILTER (WHERE NOT provisional) AS c,"
        " count(*) FILTER (WHERE provisional) AS p FROM signals WHERE period >= ? GROUP BY ALL",
        [since],
    )
    return {r["id"]: (int(r["c"]), int(r["p"])) for r in found}


def _series(con: Sql, since: dt.date) -> dict[str, list[tuple[dt.date, float, float, bool]]]:
    found = rows(
        con,
        "SELECT moment || ':' || segment || ':' || metric AS id, period, n, missed,"
        " coalesce(p_signal, false) OR coalesce(ewma_signal, false) AS flagged"
        " FROM stream_periods WHERE period >= ? ORDER BY id, period",
        [since],
    )
    out: dict[str, list[tuple[dt.date, float, float, bool]]] = {}
    for r in found:
        out.setdefault(r["id"], []).append(
            (r["period"], float(r["n"] or 0), float(r["missed"] or 0), bool(r["flagged"]))
        )
    return out


def _rate(
    points: list[tuple[dt.date, float, float, bool]], lo: dt.date, hi: dt.date
) -> tuple[float | None, int]:
    n = sum(p[1] for p in points if lo <= p[0] < hi)
    missed = sum(p[2] for p in points if lo <= p[0] < hi)
    return (missed / n if n else None), int(n)


def _segments_out(streams: list[StreamSummary], moment: str, metric: str) -> list[str]:
    return [
        s.segment
        for s in streams
        if s.moment == moment
        and s.metric == metric
        and s.segment not in (ALL_SEGMENTS, "all")
        and s.state == "signalled"
    ]


def _state(s: StreamSummary | None, expected: bool, recent: tuple[int, int]) -> str:
    if not expected:
        return "no expectation"
    if s is None or s.state == "too thin":
        return "too thin"
    closed, provisional = recent
    if s.state == "signalled" and closed:
        return "out of control"
    if provisional:
        return "provisional signal"
    return "out of control" if s.state == "signalled" else "in control"


def lifecycle_map(
    con: Sql, lifecycle: Lifecycle, config: WorkspaceConfig, *, segment: str = ALL_SEGMENTS, days: int = 90
) -> list[MapStage]:
    """Stages in order, each moment × metric with its state, miss rate, trend and sparkline."""
    if not has_tables(con, "stream_periods"):
        streams: list[StreamSummary] = []
        last = None
    else:
        streams = list_streams(con, lifecycle)
        last = max((s.last_period for s in streams if s.last_period), default=None)
    end = (last or dt.date.today()) + dt.timedelta(days=1)
    series = _series(con, end - dt.timedelta(days=days)) if streams else {}
    recent = _recent_signals(con, end - dt.timedelta(days=EPISODE_GAP_DAYS + 1)) if streams else {}
    expected = _expected(config)
    stages = []
    for stage in lifecycle.stages:
        cells = []
        for m in lifecycle.moments_in(stage):
            for metric in m.metrics:
                s = _pick(streams, m.key, metric, segment)
                pts = series.get(s.id, []) if s else []
                now, n = _rate(pts, end - dt.timedelta(days=TREND_DAYS), end)
                before, _ = _rate(
                    pts, end - dt.timedelta(days=2 * TREND_DAYS), end - dt.timedelta(days=TREND_DAYS)
                )
                cells.append(
                    MapCell(
                        moment=m.key,
                        name=m.name,
                        metric=metric,
                        stream_id=s.id if s else None,
                        state=_state(
                            s, (m.key, metric) in expected, recent.get(s.id, (0, 0)) if s else (0, 0)
                        ),
                        miss_rate=now,
                        previous=before,
                        n=n,
                        spark=[p[2] / p[1] if p[1] else float("nan") for p in pts],
                        spark_signals=[p[3] for p in pts],
                        segment_shown=s.segment if s else segment,
                        segments_out=_segments_out(streams, m.key, metric),
                    )
                )
        stages.append(MapStage(stage, lifecycle.stage_silo[stage], cells))
    return stages


@dataclass(frozen=True)
class SiloNumbers:
    silo: str
    in_control: int
    out_of_control: int
    too_thin: int
    open_cases: int


@dataclass(frozen=True)
class Overview:
    silos: list[SiloNumbers]
    open_cases: int
    median_hours_to_acknowledge: float | None
    median_hours_to_close: float | None
    false_alarms: FalseAlarmReport | None


def _median_hours(deltas: list[dt.timedelta]) -> float | None:
    return statistics.median(d.total_seconds() / 3600 for d in deltas) if deltas else None


def overview(con: Sql, lifecycle: Lifecycle, config: WorkspaceConfig) -> Overview:
    """Streams in and out of control per silo, open cases, median times, false-alarm rates."""
    streams = list_streams(con, lifecycle) if has_tables(con, "stream_periods") else []
    has_cases = has_tables(con, "cases", "alerts")
    cases = (
        rows(con, "SELECT silo, state, opened_at, acknowledged_at, closed_at FROM cases") if has_cases else []
    )
    silos = []
    for silo in lifecycle.silos:
        mine = [s for s in streams if s.silo == silo]
        silos.append(
            SiloNumbers(
                silo,
                sum(s.state == "in control" for s in mine),
                sum(s.state == "signalled" for s in mine),
                sum(s.state == "too thin" for s in mine),
                sum(c["silo"] == silo and c["state"] != "closed" for c in cases),
            )
        )
    ack = [c["acknowledged_at"] - c["opened_at"] for c in cases if c["acknowledged_at"]]
    closed = [c["closed_at"] - c["opened_at"] for c in cases if c["closed_at"]]
    return Overview(
        silos,
        sum(c["state"] != "closed" for c in cases),
        _median_hours(ack),
        _median_hours(closed),
        false_alarm_report(con, config) if has_cases else None,
    )
