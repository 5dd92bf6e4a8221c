"""NHS GP Friends-and-Family Test (real survey answers, ../shared): the weekly share of negative
answers per surgery on a Laney p′ chart, and what it finds beside the free-text themes.

An answer is an experience of the moment ``gp_visit`` with the FFT score (1–5) as its value; below
3 ("unlikely", "extremely unlikely") misses the adequate level, so the miss rate is the negative
share. Segments are the surgeries, taken from the data (``labels: auto``). The export has no
response id, so the test numbers its rows (what a user adds before ingesting such a file).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from gapwatch.ingest.files import ingest_file
from gapwatch.monitor.run import run_monitor
from gapwatch.workspace import Workspace, init_workspace

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "nhs_gp_friends_family_test"
FILE = DATA / "fft_gp_feedback_2023_2024.csv"
pytestmark = [
    pytest.mark.shared,
    pytest.mark.skipif(not FILE.is_file(), reason="../shared/data/nhs_gp_friends_family_test is not present"),
]
CONFIG = """
version: 1
workspace: {name: gp friends and family test, timezone: Europe/London}
silos: {practice: {name: GP practices}}
metrics:
  recommend: {unit: points, direction: higher, kind: rating, scale: [1, 5]}
lifecycle:
  - stage: care
    silo: practice
    moments: [{key: gp_visit, metrics: [recommend]}]
expectations:
  - {moment: gp_visit, metric: recommend, adequate: 3, desired: 5}
sources:
  fft:
    event_id: response
    anonymous_id: {value: patient}
    occurred_at: time
    moment: {value: gp_visit}
    segment: {column: surgery, labels: auto, max: 50}
    experiences:
      - {metric: recommend, value: rating_score}
    text: do_better
    attributes: [improvement_labels, feedback_labels]
detection:
  overrides:
    - {moment: gp_visit, metric: recommend, method: pprime, period: week}
"""


@pytest.fixture(scope="module")
def fft(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("fft")
    table = pacsv.read_csv(FILE, convert_options=pacsv.ConvertOptions(strings_can_be_null=False))
    table = table.append_column("response", pa.array([str(i + 1) for i in range(table.num_rows)]))
    pacsv.write_csv(table, tmp / "fft.csv")
    root = init_workspace(tmp / "ws", config_text=CONFIG)
    with Workspace.open(root) as ws:
        ingested = ingest_file(ws, tmp / "fft.csv", "fft")
        result = run_monitor(ws.store, ws.config, clock="event")
    return {"ingested": ingested, "result": result, "answers": table.to_pylist()}


def test_every_answer_with_a_score_is_an_experience(fft: dict[str, Any]) -> None:
    counts = fft["ingested"].counts
    assert (counts.accepted, counts.reasons) == (3863, {"missing_value": 19})  # "Don't know" has no score


def test_surgeries_on_a_weekly_laney_chart_or_too_thin_with_reasons(fft: dict[str, Any]) -> None:
    views = {v.key[1]: v for v in fft["result"].streams}
    assert len(views) == 12  # 11 surgeries and the network as a whole
    judged = {s for s, v in views.items() if v.resolution == "week"}
    assert judged == {
        "*",
        "earls_court_medical_centre",
        "earls_court_surgery",
        "health_partners_violet_melchett",
        "scarsdale_medical_centre",
        "stanhope_mews_west",
        "the_chelsea_practice",
    }
    for s in judged:
        assert views[s].method == "weekly Laney p′ (set in gapwatch.yaml)"
    laney = {s for s in judged if views[s].charts["miss_rate"].chart == "pprime"}
    # Stanhope Mews West's baseline has two weeks with answers: no moving range, so binomial limits
    assert judged - laney == {"stanhope_mews_west"}
    # most surgeries see under one negative answer a week: the chart says its approximation is poor
    assert "n·p̄ < 5" in views["earls_court_surgery"].note
    assert "n·p̄ < 5" not in views["health_partners_violet_melchett"].note
    thin = views["royal_hospital_chelsea"]
    assert thin.resolution == "" and thin.note.startswith("1 of 5 misses needed for a baseline")


def test_what_it_finds_and_the_free_text_themes(fft: dict[str, Any]) -> None:
    worse = [s for s in fft["result"].signals if s.direction == "worse" and s.segment != "*"]
    found = sorted({(s.segment, s.period_start) for s in worse})
    # two weeks at Earls Court Surgery, each with 2 negative answers of about ten
    assert found == [
        ("earls_court_surgery", dt.date(2023, 12, 4)),
        ("earls_court_surgery", dt.date(2024, 1, 8)),
    ]
    assert all(s.n <= 11 for s in worse)
    themes: Counter[str] = Counter()
    for r in fft["answers"]:
        when = r["time"].date()
        week = when - dt.timedelta(days=when.weekday())
        negative = r["surgery"] == "Earls Court Surgery" and r["rating_score"] in (1.0, 2.0)
        if negative and ("earls_court_surgery", week) in found:
            themes[r["improvement_labels"] or r["feedback_labels"] or "(no theme)"] += 1
    # the four negative answers of those weeks share no theme: nothing the free text corroborates
    assert sum(themes.values()) == 4 and max(themes.values()) <= 2
