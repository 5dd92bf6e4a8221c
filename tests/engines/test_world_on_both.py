"""The simulated world on the store, on DuckDB over a lake and on Spark over a lake: one answer.

Through the CLI faces (`gapwatch ingest --engine spark --lake`, `gapwatch detect --engine spark
--lake --json`), against the embedded store's own ingest and detection: equal counts and
reject codes, equal stream statistics (to rounding), equal signal digests; a re-run adds
nothing; no raw customer id lands in the lake; pandas, DuckDB and Spark read the lake.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
from lakehelpers import read, workspace

from gapwatch.cli import main
from gapwatch.engines.duckdb_engine import DuckDBEngine
from gapwatch.engines.spark_engine import SparkEngine
from gapwatch.ingest.files import ingest_file
from gapwatch.monitor.on_engine import detect_lake, signal_digest
from gapwatch.monitor.run import aggregate, run_monitor
from gapwatch.workspace import Workspace

pytestmark = pytest.mark.spark
SOURCES = ("crm", "orders", "tickets")  # a label-mapped metric, stated expectations, two metrics a row
ID_COLUMNS = {"crm": "Contact ID", "orders": "cust_no", "tickets": "requester"}


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    try:
        main(args)
    except SystemExit as exc:
        assert exc.code in (0, None), capsys.readouterr().err
    found: dict[str, Any] = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    return found


@pytest.fixture(scope="module")
def runs(spark: Any, small_world: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("runs")
    ws = workspace(root / "ws")
    files = {s: small_world / f"{s}.csv" for s in SOURCES}
    out: dict[str, Any] = {"ws": ws, "root": root, "files": files}
    with Workspace.open(ws) as opened:
        out["store"] = {s: ingest_file(opened, p, s).counts.as_dict() for s, p in files.items()}
    with DuckDBEngine(timezone="UTC") as duck, Workspace.open(ws) as opened:
        from gapwatch.ingest.lake import ingest_workspace_lake

        out["duckdb"] = {
            s: ingest_workspace_lake(opened, duck, root / "lake-duckdb", p, s).counts.as_dict()
            for s, p in files.items()
        }
    return out


def _spark_cli(runs: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    if "spark" not in runs:
        lake = runs["root"] / "lake-spark"
        runs["spark"] = {
            s: _cli(
                [
                    "ingest",
                    str(p),
                    "--source",
                    s,
                    "--workspace",
                    str(runs["ws"]),
                    "--engine",
                    "spark",
                    "--lake",
                    str(lake),
                    "--json",
                ],
                capsys,
            )
            for s, p in runs["files"].items()
        }
    return runs


def _plain(counts: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v for k, v in counts.items() if k in ("accepted", "duplicate", "rejected", "received", "reasons")
    }


def test_counts_are_equal_and_a_rerun_adds_nothing(
    runs: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    _spark_cli(runs, capsys)
    for s in SOURCES:
        assert _plain(runs["duckdb"][s]) == _plain(runs["store"][s]) == _plain(runs["spark"][s]), s
        assert runs["spark"][s]["engine"] == "spark"
    assert sum(c["rejected"] for c in runs["spark"].values()) > 10  # the world is dirty
    lake = runs["root"] / "lake-spark"
    before = sorted(p.relative_to(lake) for p in lake.rglob("*.parquet"))
    again = _cli(
        [
            "ingest",
            str(runs["files"]["orders"]),
            "--source",
            "orders",
            "--workspace",
            str(runs["ws"]),
            "--engine",
            "spark",
            "--lake",
            str(lake),
            "--json",
        ],
        capsys,
    )
    first = runs["spark"]["orders"]
    assert again["accepted"] == 0 and again["duplicate"] == first["accepted"] + first["duplicate"]
    assert again["rejected"] == runs["spark"]["orders"]["rejected"]  # rejected again, stored once
    after = sorted(p.relative_to(lake) for p in lake.rglob("*.parquet"))
    new = [p for p in after if p not in before]
    assert all(pd.read_parquet(lake / p).empty for p in new), new


def test_lakes_hold_the_same_rows(runs: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    _spark_cli(runs, capsys)
    for table in ("experiences", "rejected"):
        duck, spark = read(runs["root"] / "lake-duckdb", table), read(runs["root"] / "lake-spark", table)
        assert spark.num_rows == duck.num_rows > 0
        assert spark.to_pylist() == duck.to_pylist(), table


def test_digests_and_statistics_are_equal(
    runs: dict[str, Any], spark: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    _spark_cli(runs, capsys)
    ws, root = runs["ws"], runs["root"]
    with Workspace.open(ws) as opened:
        stored = run_monitor(opened.store, opened.config, clock="event", store=False)
        stats = aggregate(opened.store.reader()).sort_by(
            [(c, "ascending") for c in ("moment", "segment", "metric", "period")]
        )
        config = opened.config
    with DuckDBEngine(timezone="UTC") as duck:
        on_duck = detect_lake(duck, root / "lake-duckdb", config, clock="event")
    with SparkEngine(spark, timezone="UTC") as engine:
        on_spark = detect_lake(engine, root / "lake-spark", config, clock="event")
    assert len(stored.signals) > 0
    assert signal_digest(on_spark.result.signals) == signal_digest(on_duck.result.signals)
    assert signal_digest(on_duck.result.signals) == signal_digest(stored.signals)
    for run in (on_duck, on_spark):
        got = run.aggregate
        assert got.num_rows == stats.num_rows
        for column in got.column_names:
            a, b = got.column(column).to_pylist(), stats.column(column).to_pylist()
            if isinstance(a[0], float):
                assert a == pytest.approx(b, rel=1e-12, abs=1e-12), column
            else:
                assert a == b, column
    by_cli = {
        e: _cli(
            [
                "detect",
                "--workspace",
                str(ws),
                "--clock",
                "event",
                "--engine",
                e,
                "--lake",
                str(root / f"lake-{e}"),
                "--json",
            ],
            capsys,
        )
        for e in ("duckdb", "spark")
    }
    plain = _cli(["detect", "--workspace", str(ws), "--clock", "event", "--json"], capsys)
    keys = ("events", "stream_periods", "digest")
    assert {k: by_cli["spark"][k] for k in keys} == {k: by_cli["duckdb"][k] for k in keys}
    assert {k: plain[k] for k in keys} == {k: by_cli["duckdb"][k] for k in keys}
    assert by_cli["spark"]["engine"] == "spark" and by_cli["spark"]["digest"] == signal_digest(stored.signals)
    assert len(by_cli["spark"]["signals"]) == len(stored.signals)


def test_no_raw_customer_id_lands_in_the_lake(
    runs: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    _spark_cli(runs, capsys)
    ids: set[str] = set()
    for s, column in ID_COLUMNS.items():
        with runs["files"][s].open(newline="") as handle:
            ids.update(row[column].strip() for row in csv.DictReader(handle) if row[column].strip())
    for engine in ("duckdb", "spark"):
        lake = runs["root"] / f"lake-{engine}"
        blob = b"".join(p.read_bytes() for p in lake.rglob("*") if p.is_file())
        # the bytes are searchable: the keys (random hex, which compression leaves whole) are found
        keys = {k for k in read(lake, "experiences").column("customer_key").to_pylist() if k}
        assert sum(k.encode() in blob for k in keys) > 0.9 * len(keys) > 50
        leaked = [i for i in ids if i.encode() in blob]
        assert ids and not leaked, leaked[:5]
        cells = [
            v for t in ("experiences", "rejected") for r in read(lake, t).to_pylist() for v in r.values()
        ]
        assert not ids.intersection(str(v) for v in cells)


def test_pandas_duckdb_and_spark_read_the_lake(
    runs: dict[str, Any], spark: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    _spark_cli(runs, capsys)
    lake = runs["root"] / "lake-spark" / "experiences"
    frame = pd.read_parquet(lake)
    by_duckdb = duckdb.sql(
        f"SELECT count(*), count(DISTINCT period) FROM read_parquet('{lake}/**/*.parquet', "
        "hive_partitioning = true)"
    ).fetchall()[0]
    by_spark = spark.read.parquet(str(lake))
    assert by_duckdb is not None
    assert len(frame) == by_duckdb[0] == by_spark.count() > 1000
    assert frame["period"].nunique() == by_duckdb[1] == by_spark.select("period").distinct().count()
    assert str(frame["occurred_at"].dtype).startswith("datetime64") and "customer_key" in frame.columns
