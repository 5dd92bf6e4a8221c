"""The HTML report: self-contained (no script, no external file), every chart of every signalled stream.

Built from what the monitor stored (``stream_periods``, ``signals``), as the web app's pages are:
the miss-rate chart, the EWMA and, on a thin stream, the per-event Bernoulli CUSUM that judged it.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re

import numpy as np
import pytest
from monitor_world import START, experiences, store

from gapwatch.config import default_config
from gapwatch.domain.lifecycle import Lifecycle
from gapwatch.monitor.nps import nps_chart
from gapwatch.monitor.run import run_monitor
from gapwatch.report import IncidentLine, render_report
from gapwatch.report.figures import FigureContext, stream_figure
from gapwatch.report.svg import LEFT, MIN_LABEL_PX, PLOT_H, PLOT_W, TOP, date_ticks, render_figure

pytestmark = pytest.mark.filterwarnings("ignore:fetch_arrow_table:DeprecationWarning")
DAY60, DAY70 = START + dt.timedelta(days=60), START + dt.timedelta(days=70)
INCIDENT = IncidentLine(
    "INC-1", "delivery", "premium", "delivery_days", 3.0, DAY60, DAY70, DAY60, "delivery/premium", 0, None
)
THIN = ("welcome_call", "standard", "welcome_days")


@pytest.fixture(scope="module")
def world() -> tuple[object, FigureContext]:
    streams = {
        ("delivery", "premium", "delivery_days"): (40.0, lambda d: 0.1 * (3 if 60 <= d <= 70 else 1)),
        ("delivery", "standard", "delivery_days"): (60.0, lambda d: 0.1),
        ("checkout", "all", "page_load_seconds"): (80.0, lambda d: 0.1),
        THIN: (3.0, lambda d: 0.1 if d < 55 else 0.5),  # n·p̄ ≈ 2 a week: judged per event
    }
    con = store(experiences(streams, days=90))
    config = default_config()
    result = run_monitor(con, config, clock="event")  # stores stream_periods and signals
    ctx = FigureContext(
        config.detection, result.L, result.first_period, result.last_period, result.closed_through
    )
    return con, ctx


@pytest.fixture(scope="module")
def html(world: tuple[object, FigureContext]) -> str:
    con, ctx = world
    weeks = [START + dt.timedelta(days=7 * k) for k in range(13)]
    n = np.full(13, 100.0)
    nps = nps_chart(weeks, n, np.full(13, 50.0), np.full(13, 20.0), np.arange(13) < 4)
    config = default_config()
    return render_report(
        con, config, Lifecycle.from_config(config), ctx, nps=nps, incidents=[INCIDENT], notes=["a note"]
    )


def test_report_is_self_contained(html: str) -> None:
    assert html.startswith("<!DOCTYPE html>")
    assert "<script" not in html and "<link" not in html and "@import" not in html
    assert re.findall(r"(?:src|href)=", html) == []
    assert "<style>" in html


def test_one_figure_with_every_chart_per_signalled_stream(html: str) -> None:
    figures = re.findall(r'<figure class="stream" id="fig-([^"]+)">(.*?)</figure>', html)
    ids = [i for i, _ in figures]
    assert "nps" in ids
    assert "delivery:*:delivery_days" in ids and "delivery:premium:delivery_days" in ids
    body = dict(figures)["delivery:premium:delivery_days"]
    assert "panel-miss_rate" in body and "panel-mean_gap" in body and body.count("<svg") >= 2


def test_thin_stream_shows_the_per_event_cusum_that_judged_it(world: tuple[object, FigureContext]) -> None:
    con, ctx = world
    fig = stream_figure(con, Lifecycle.from_config(default_config()), ctx, ":".join(THIN))
    kinds = [p.kind for p in fig.panels]
    assert kinds[0] == "bcusum", kinds
    stored = con.execute(  # type: ignore[attr-defined]
        "SELECT DISTINCT period FROM signals WHERE moment = ? AND segment = ? AND metric = ?"
        " AND chart = 'bcusum'",
        list(THIN),
    ).fetchall()
    marks = fig.panels[0].marks
    assert stored, "the thin stream's incident must be found by the per-event CUSUM"
    # the drawn trace is the one that raised the stored signals: one mark per signalled day at least
    assert {dt.date.fromordinal(int(m.x)) for m in marks} == {r[0] for r in stored}
    h = fig.panels[0].ucl[0]
    assert all(m.y >= h for m in marks) and all(m.direction == "worse" for m in marks)


def test_worse_and_better_signals_look_different(world: tuple[object, FigureContext]) -> None:
    con, ctx = world
    fig = stream_figure(con, Lifecycle.from_config(default_config()), ctx, "delivery:premium:delivery_days")
    svg = render_figure(fig)
    assert 'class="mark worse"' in svg
    worse = re.search(r'<path class="mark worse" d="([^"]+)"', svg)
    assert worse and worse.group(1).count("L") == 2  # a triangle; a better signal is a four-point diamond
    assert "worse signal" in svg  # and the legend says so in words


def test_charts_show_baseline_incident_and_signals(html: str) -> None:
    assert 'class="win baseline"' in html and 'class="win incident"' in html
    assert html.count('class="mark worse"') >= 2
    assert "INC-1" in html and "a note" in html


def test_no_label_is_drawn_over_the_axes(html: str) -> None:
    for x, y in re.findall(r'<text class="tick" x="([\d.]+)" y="([\d.]+)"', html):
        assert float(x) <= LEFT - 6 or float(y) > TOP + PLOT_H, (x, y)  # left of the y axis, or below x


@pytest.mark.parametrize("days", [3, 10, 40, 90, 180, 400, 1200])
def test_date_labels_never_run_together(days: int) -> None:
    x0 = float(dt.date(2025, 1, 1).toordinal())
    ticks = date_ticks(x0, x0 + days)
    px = [(t - x0) / days * PLOT_W for t, _ in ticks]
    assert len(ticks) >= 2
    assert all(b - a >= MIN_LABEL_PX * 0.9 for a, b in itertools.pairwise(px)), ticks


def test_lifecycle_table_lists_stages_in_order(html: str) -> None:
    table = html[html.index("<h2>The lifecycle</h2>") :]
    assert table.index("commitment") < table.index("fulfilment")
    assert "signalled since" in table and "in control" in table  # states are words, not colours only
