"""``/perspectives``: how each silo's employees and leaders see the service beside the customers.

Three charts of estimates with 95 % intervals, for one period (the latest by default, or all
periods pooled): every silo's gaps to the customers over all dimensions; the chosen silo's
scores per dimension (customers' perception and expectation, employees', leaders'); and its
gaps per dimension (leader − customer, employee − customer, P − E), significant ones filled,
widening ones named. Every reader may see every silo, as in ``GET /v1/perspectives``; a member
starts on their own silo. The numbers are in a table beneath the charts.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from gapwatch.domain.access import Role
from gapwatch.insight.perspectives import GapEstimate, ScoreEstimate
from gapwatch.insight.perspectives_service import perspectives_report
from gapwatch.report.intervals import Interval, IntervalChart, IntervalGroup
from gapwatch.web.auth import ViewerDep
from gapwatch.web.pages.common import runtime_of
from gapwatch.web.render import page

router = APIRouter(include_in_schema=False)
ALL = "all"
POOLED = "pooled"
SCORE_SERIES = (("customer", "P"), ("customer", "E"), ("employee", "P"), ("leader", "P"))
SCORE_NAMES = ("customers: perceived", "customers: expected", "employees", "leaders")
GAP_SERIES = ("leader-customer", "employee-customer", "P-E customer", "P-E employee", "P-E leader")
GAP_NAMES = (
    "leaders − customers",
    "employees − customers",
    "customers: P − E",
    "employees: P − E",
    "leaders: P − E",
)


def _dimensions(names: set[str], configured: list[str]) -> list[str]:
    """The configured order, then any other dimension found, then ``all`` (labelled apart)."""
    order = [d for d in configured if d in names] + sorted(names - set(configured) - {ALL})
    return order + ([ALL] if ALL in names else [])


def _label(dimension: str) -> str:
    return "all dimensions" if dimension == ALL else dimension


def _gap_tip(g: GapEstimate, name: str) -> str:
    ci = "" if g.low is None or g.high is None else f" [{g.low:+.2f}, {g.high:+.2f}]"
    words = ("significant" if g.significant else "not significant") + ("; widening" if g.widening else "")
    return f"{_label(g.dimension)}, {name}: {g.estimate:+.2f}{ci} (n {g.n[0]} vs {g.n[1]}; {words})"


def _gap_item(g: GapEstimate) -> Interval | None:
    if g.gap not in GAP_SERIES:
        return None
    k = GAP_SERIES.index(g.gap)
    return Interval(
        k,
        g.estimate,
        g.low,
        g.high,
        g.significant,
        "▲ widening" if g.widening else "",
        _gap_tip(g, GAP_NAMES[k]),
    )


def _score_item(s: ScoreEstimate) -> Interval | None:
    key = (s.perspective, s.kind)
    if key not in SCORE_SERIES:
        return None
    k = SCORE_SERIES.index(key)
    ci = "" if s.low is None or s.high is None else f" [{s.low:.2f}, {s.high:.2f}]"
    tip = f"{_label(s.dimension)}, {SCORE_NAMES[k]}: {s.mean:.2f}{ci} ({s.respondents} respondents)"
    return Interval(k, s.mean, s.low, s.high, True, "", tip)


def _grouped(items: list[tuple[str, Interval]], order: list[str]) -> list[IntervalGroup]:
    by: dict[str, list[Interval]] = {}
    for key, item in items:
        by.setdefault(key, []).append(item)
    return [IntervalGroup(_label(k), sorted(by[k], key=lambda i: i.series)) for k in order if k in by]


def _overview(gaps: list[GapEstimate], silos: list[str]) -> IntervalChart:
    """Every silo's leaders and employees against the customers, over all dimensions."""
    items = [
        (g.silo, i)
        for g in gaps
        if g.dimension == ALL and g.gap.endswith("-customer") and (i := _gap_item(g)) is not None
    ]
    return IntervalChart(
        "Every silo's view minus the customers' (all dimensions)",
        "difference in mean score (scale points); right of 0: the silo rates the service above its customers",
        list(GAP_NAMES),
        _grouped(items, silos),
        reference=0.0,
        weak_word="interval includes 0 (not significant)",
    )


@router.get("/perspectives")
def perspectives_page(request: Request, session: ViewerDep, silo: str = "", period: str = "") -> HTMLResponse:
    runtime = runtime_of(request)
    config = runtime.config
    silos = list(runtime.lifecycle.silos)
    member = session.principal.role is Role.MEMBER
    chosen = silo if silo in silos else (session.principal.silo if member else None) or silos[0]
    pooled = period == POOLED
    with runtime.reader() as con:
        report = perspectives_report(con, config)
        periods = sorted({g.period for g in report.gaps} | {s.period for s in report.scores})
        if pooled:
            report = perspectives_report(con, config, pooled=True)
    shown = POOLED if pooled else (period if period in periods else (periods[-1] if periods else ""))
    gaps = [g for g in report.gaps if g.period == (ALL if pooled else shown)]
    scores = [s for s in report.scores if s.period == (ALL if pooled else shown)]
    here_gaps = [g for g in gaps if g.silo == chosen or (g.silo == ALL and g.gap == "P-E customer")]
    here_scores = [s for s in scores if s.silo == chosen or (s.silo == ALL and s.perspective == "customer")]
    dims = _dimensions(
        {g.dimension for g in here_gaps} | {s.dimension for s in here_scores},
        list(config.perspectives.dimensions),
    )
    score_items = [(s.dimension, i) for s in here_scores if (i := _score_item(s)) is not None]
    gap_items = [(g.dimension, i) for g in here_gaps if (i := _gap_item(g)) is not None]
    scale = config.perspectives.scale
    charts = [
        _overview(gaps, silos),
        IntervalChart(
            f"{chosen}: how each perspective scores the service",
            f"mean score on the survey's {scale[0]:g}–{scale[1]:g} scale (each respondent's items averaged)",
            list(SCORE_NAMES),
            _grouped(score_items, dims),
            domain=(float(scale[0]), float(scale[1])),
        ),
        IntervalChart(
            f"{chosen}: perception gaps",
            "difference in mean score (scale points); 0 = the same view",
            list(GAP_NAMES),
            _grouped(gap_items, dims),
            reference=0.0,
            weak_word="interval includes 0 (not significant)",
        ),
    ]
    flagged = [g for g in gaps if g.silo == chosen and g.significant and g.gap.endswith("-customer")]
    return page(
        request,
        "perspectives.html",
        session,
        report=report,
        charts=charts,
        silos=silos,
        chosen=chosen,
        periods=periods,
        shown=shown,
        pooled=pooled,
        gaps=sorted(here_gaps, key=lambda g: (dims.index(g.dimension) if g.dimension in dims else 99, g.gap)),
        flagged=flagged,
        widening=[g for g in flagged if g.widening],
        names=dict(zip(GAP_SERIES, GAP_NAMES, strict=True)),
        label=_label,
    )
