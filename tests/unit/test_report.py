"""The HTML report: self-contained (no script, no external file), a chart per signalled stream."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pytest
from monitor_world import START, experiences, store

from gapwatch.config import default_config
from gapwatch.domain.lifecycle import Lifecycle
from gapwatch.monitor.nps import nps_chart
from gapwatch.monitor.run import run_monitor
from gapwatch.report import ChartSpec, IncidentLine, Window, render_chart, render_report

pytestmark = pytest.mark.filterwarnings("ignore:fetch_arrow_table:DeprecationWarning")
DAY60, DAY70 = START + dt.timedelta(days=60), START + dt.timedelta(days=70)
INCIDENT = IncidentLine(
    "INC-1", "delivery", "premium", "delivery_days", 3.0, DAY60, DAY70, DAY60, "delivery/premium", 0, None
)


@pytest.fixture(scope="module")
def html() -> str:
    streams = {
        ("delivery", "premium", "delivery_days"): (40.0, lambda d: 0.1 * (3 if 60 <= d <= 70 else 1)),
        ("delivery", "standard", "delivery_days"): (60.0, lambda d: 0.1),
        ("checkout", "all", "page_load_seconds"): (80.0, lambda d: 0.1),
    }
    result = run_monitor(store(experiences(streams, days=90)), default_config(), clock="event", store=False)
    weeks = [START + dt.timedelta(days=7 * k) for k in range(13)]
    n = np.full(13, 100.0)
    nps = nps_chart(weeks, n, np.full(13, 50.0), np.full(13, 20.0), np.arange(13) < 4)
    return render_report(
        result, Lifecycle.from_config(default_config()), nps=nps, incidents=[INCIDENT], notes=["a note"]
    )


def test_report_is_self_contained(html: str) -> None:
    assert html.startswith("<!DOCTYPE html>")
    assert "<script" not in html and "<link" not in html and "@import" not in html
    assert re.findall(r"(?:src|href)=", html) == []
    assert "<style>" in html


def test_one_figure_with_svg_charts_per_signalled_stream(html: str) -> None:
    figures = re.findall(r'<figure class="stream"><figcaption>(.*?)</figcaption>(.*?)</figure>', html)
    captions = [c for c, _ in figures]
    assert any(c.startswith("NPS from") for c in captions)
    streams = [(c, body) for c, body in figures if not c.startswith("NPS")]
    assert streams and all("<svg" in body for _, body in streams)
    assert any("delivery/(all segments)/delivery_days" in c for c, _ in streams)
    assert any("delivery/premium/delivery_days" in c for c, _ in streams)


def test_charts_show_baseline_incident_and_signals(html: str) -> None:
    assert 'class="baseline"' in html and 'class="incident"' in html
    assert html.count('class="signal"') >= 2
    assert "INC-1" in html and "a note" in html


def test_lifecycle_table_lists_stages_in_order(html: str) -> None:
    table = html[html.index("<h2>The lifecycle</h2>") :]
    assert table.index("commitment") < table.index("fulfilment")
    assert "signalled since" in table and "in control" in table  # states are words, not colours only


def test_render_chart_breaks_lines_at_gaps_and_marks_signals() -> None:
    days = [dt.date(2025, 1, 1) + dt.timedelta(days=k) for k in range(6)]
    spec = ChartSpec(
        "t",
        days,
        [0.1, 0.2, float("nan"), 0.2, 0.9, 0.1],
        [0.2] * 6,
        [0.0] * 6,
        [0.5] * 6,
        [False, False, False, False, True, False],
        windows=[Window(days[0], days[1], "baseline", "baseline")],
    )
    svg = render_chart(spec)
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count('<polyline class="stat"') == 2  # the NaN splits the line
    assert svg.count('class="signal"') == 1
