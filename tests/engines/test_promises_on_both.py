"""Times, promises and segments from the data (issue 10) on the store, DuckDB and Spark alike.

``between`` spans and stated promises, ``late`` flags, open promises judged when they fall
due and replaced once when the outcome comes in, and ``labels: auto`` segments with their
cap: the same counts, reject codes, lake rows, statistics and signal digest on every engine.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from lakehelpers import ingest, read, write_csv

from gapwatch.engines.duckdb_engine import DuckDBEngine
from gapwatch.engines.spark_engine import SparkEngine
from gapwatch.ingest.files import ingest_file
from gapwatch.monitor.on_engine import detect_lake, signal_digest
from gapwatch.ports import Engine
from gapwatch.workspace import Workspace, init_workspace

pytestmark = pytest.mark.spark
ZONE = "America/Sao_Paulo"  # naive times in the workspace's zone (no summer time since 2019)

CONFIG = """
version: 1
workspace: {timezone: America/Sao_Paulo}
silos: {delivery: {name: Delivery}}
segments: {sp: {name: São Paulo state}}
metrics:
  delivery_days: {unit: days, direction: lower}
  late: {unit: late, direction: lower, kind: rate}
lifecycle:
  - stage: fulfilment
    silo: delivery
    moments:
      - {key: delivery, metrics: [delivery_days, late]}
expectations:
  - {moment: delivery, metric: delivery_days, adequate: 20, desired: 7, valid_from: "2000-01-01"}
  - {moment: delivery, metric: late, adequate: 0.5, desired: 0, valid_from: "2000-01-01"}
sources:
  orders:
    event_id: id
    customer_id: cust
    occurred_at: delivered
    moment: {value: delivery}
    segment: {column: state, labels: auto, max: 3}
    experiences:
      - metric: delivery_days
        value: {between: [ordered, delivered]}
        expected: {between: [ordered, promised]}
      - {metric: late, value: {late: [promised, delivered]}}
"""
HEADER = ["id", "cust", "ordered", "promised", "delivered", "state"]
FIRST = [
    ["k1", "c1", "2025-03-01 10:00:00", "2025-03-08", "2025-03-05 12:00:00", "SP"],  # kept, declared
    ["b1", "c2", "2025-03-01 09:00:00", "2025-03-05", "2025-03-09 08:00:00", "São Paulo"],  # broken
    ["o1", "c3", "2025-03-01", "2025-03-06", "", "RJ"],  # open and due: missed on 03-06
    ["o2", "c4", "2026-11-20", "2027-06-01", "", " rj "],  # open, due in the future: pending
    ["a1", "c5", "2025-03-02", "2025-03-09", "2025-03-04", "9 de Julho"],  # a key from a digit
    ["a2", "c6", "2025-03-02", "2025-03-09", "2025-03-04", "MG"],  # a fourth new label: over the cap
    ["a3", "c7", "2025-03-02", "2025-03-09", "2025-03-04", "!!!"],  # no usable key
    ["a4", "c8", "2025-03-02", "2025-03-09", "2025-03-04", ""],  # the moment as a whole
    ["n1", "c9", "2025-03-05", "2025-03-09", "2025-03-04", "SP"],  # delivered before the order
    ["n2", "c9", "someday", "2025-03-09", "2025-03-04", "SP"],  # not a time
    ["n3", "c9", "", "2025-03-09", "2025-03-04", "SP"],  # no start
    ["n4", "c9", "2025-03-02", "whenever", "2025-03-04", "SP"],  # a promise that is not a time
    ["n5", "c9", "2025-03-02", "2025-02-20", "2025-03-04", "SP"],  # promised before the order
]
LATER = [
    FIRST[0],  # the same kept promise again: a duplicate
    ["k1", "c1", "2025-03-01 10:00:00", "2025-03-08", "2025-03-06 12:00:00", "SP"],  # final: a conflict
    ["o1", "c3", "2025-03-01", "2025-03-06", "2025-03-20 18:00:00", "RJ"],  # delivered late at last
    FIRST[3],  # still open
]
CODES = {"too_many_segments", "bad_segment", "negative_span", "bad_value", "missing_value", "bad_expected"}
LATE_CLOCK = dt.datetime(2027, 7, 1, tzinfo=dt.UTC)  # past o2's due day


def _plain(counts: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {s: {k: v for k, v in c.items() if k != "rows"} for s, c in counts.items()}


def _detect(engine: Engine, lake: Path, ws_folder: Path, now: dt.datetime) -> tuple[pa.Table, str, int]:
    with Workspace.open(ws_folder) as ws:
        run = detect_lake(engine, lake, ws.config, clock="wall", now=now)
    return run.aggregate, signal_digest(run.result.signals), run.events


@pytest.fixture(scope="module")
def runs(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("promises")
    ws = root / "ws"
    init_workspace(ws)
    (ws / "gapwatch.yaml").write_text(CONFIG, encoding="utf-8")
    first = write_csv(root / "orders.csv", HEADER, FIRST)
    later = write_csv(root / "orders-later.csv", HEADER, LATER)
    with Workspace.open(ws) as opened:
        store = [ingest_file(opened, p, "orders").counts.as_dict() for p in (first, later)]
    out: dict[str, Any] = {"store": store, "root": root}
    engines: dict[str, Engine] = {
        "duckdb": DuckDBEngine(timezone=ZONE),
        "spark": SparkEngine(spark, timezone=ZONE),
    }
    for name, engine in engines.items():
        lake = root / f"lake-{name}"
        with engine:
            counts = [ingest(ws, engine, lake, {"orders": p})["orders"] for p in (first, later)]
            now = _detect(engine, lake, ws, dt.datetime(2026, 12, 4, tzinfo=dt.UTC))
            due = _detect(engine, lake, ws, LATE_CLOCK)
        out[name] = {"counts": counts, "lake": lake, "now": now, "due": due}
    return out


def test_counts_and_codes_are_equal_on_store_duckdb_and_spark(runs: dict[str, Any]) -> None:
    store, duck, spark = runs["store"], runs["duckdb"]["counts"], runs["spark"]["counts"]
    assert _plain({"1": duck[0], "2": duck[1]}) == _plain({"1": store[0], "2": store[1]})
    assert _plain({"1": spark[0], "2": spark[1]}) == _plain({"1": duck[0], "2": duck[1]})
    assert set(spark[0]["reasons"]) == CODES  # the file exercises every rule it means to
    # two experiences a row: the caps and codes count each (a2 over the cap, a3 with no key)
    assert spark[0]["reasons"]["too_many_segments"] == 2 and spark[0]["reasons"]["bad_segment"] == 2
    assert spark[0]["accepted"] == 16  # n1-n3's late flags stand without a span: 8 rows x 2
    # the later file: o1's two experiences replace the open ones, k1 again is a duplicate or a conflict
    assert spark[1]["updated"] == 2 and spark[1]["reasons"] == {"conflict": 2}
    assert spark[1]["duplicate"] == 4  # k1 and o2, two experiences each


def test_lake_rows_are_equal_and_segments_come_from_the_data(runs: dict[str, Any]) -> None:
    for table in ("experiences", "rejected"):
        duck, spark = read(runs["duckdb"]["lake"], table), read(runs["spark"]["lake"], table)
        assert duck.num_rows > 8
        # an updated promise is in the lake twice under one event id: compare the rows as sets
        assert sorted(map(repr, spark.to_pylist())) == sorted(map(repr, duck.to_pylist())), table
    experiences = read(runs["spark"]["lake"], "experiences")
    # new labels in the order they come: São Paulo, RJ (and " rj "), 9 de Julho; MG is a fourth
    assert set(experiences.column("segment").to_pylist()) == {"sp", "sao_paulo", "rj", "s9_de_julho", "all"}
    by_id = {
        r["event_id"]: r
        for r in experiences.to_pylist()
        if r["event_id"] in ("b1:delivery_days", "k1:delivery_days", "o2:delivery_days")
    }
    by_id = {k.split(":")[0]: v for k, v in by_id.items()}
    assert by_id["b1"]["status"] == -1 and str(by_id["b1"]["period"]) == "2025-03-05"  # the due day
    assert (
        by_id["k1"]["status"] == 1 and str(by_id["k1"]["period"]) == "2025-03-05"
    )  # delivered 2.5 days early: exceeded
    assert by_id["o2"]["status"] is None and by_id["o2"]["value"] is None  # pending


def test_open_promises_count_as_missed_once_the_clock_passes_them(runs: dict[str, Any]) -> None:
    for name in ("duckdb", "spark"):
        (now, _, events_now), (due, _, events_due) = runs[name]["now"], runs[name]["due"]
        assert events_now == events_due == 16  # one experience per event id: o1's update replaced it
        assert sum(now.column("missed").to_pylist()) + 2 == sum(due.column("missed").to_pylist()), name
        o1 = [r for r in now.to_pylist() if r["segment"] == "rj" and r["metric"] == "delivery_days"]
        assert [(r["period"], r["n"], r["missed"]) for r in o1] == [(dt.date(2025, 3, 6), 1, 1)]


def test_statistics_and_digests_are_equal_on_duckdb_and_spark(runs: dict[str, Any]) -> None:
    for clock in ("now", "due"):
        duck, spark = runs["duckdb"][clock], runs["spark"][clock]
        assert spark[1] == duck[1], clock
        assert spark[0].column_names == duck[0].column_names
        for column in duck[0].column_names:
            a, b = duck[0].column(column).to_pylist(), spark[0].column(column).to_pylist()
            if isinstance(a[0], float):
                assert b == pytest.approx(a, rel=1e-12), (clock, column)
            else:
                assert b == a, (clock, column)
