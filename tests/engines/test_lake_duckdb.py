"""The lake on the embedded engine (no Java needed): the store's answer, re-runs, outcomes."""

from __future__ import annotations

from pathlib import Path

import pytest
from lakehelpers import SOURCES, read, workspace

from gapwatch.engines.duckdb_engine import DuckDBEngine
from gapwatch.ingest.files import ingest_file
from gapwatch.ingest.lake import ingest_workspace_lake
from gapwatch.monitor.on_engine import detect_lake, signal_digest
from gapwatch.monitor.run import run_monitor
from gapwatch.workspace import Workspace


def test_duckdb_lake_equals_the_store(small_world: Path, tmp_path: Path) -> None:
    ws = workspace(tmp_path / "ws")
    lake = tmp_path / "lake"
    with Workspace.open(ws) as opened, DuckDBEngine(timezone="UTC") as engine:
        for source in SOURCES:
            path = small_world / f"{source}.csv"
            stored = ingest_file(opened, path, source).counts.as_dict()
            laked = ingest_workspace_lake(opened, engine, lake, path, source).counts.as_dict()
            assert {k: v for k, v in laked.items() if k != "rows"} == {
                k: v for k, v in stored.items() if k != "rows"
            }, source
        files = sorted(lake.rglob("*.parquet"))
        again = ingest_workspace_lake(opened, engine, lake, small_world / "tickets.csv", "tickets").counts
        assert again.accepted == 0 and again.duplicate > 0
        assert sorted(lake.rglob("*.parquet")) == files  # nothing new: no file, not even an empty one
        by_store = run_monitor(opened.store, opened.config, clock="event", store=False)
        by_lake = detect_lake(engine, lake, opened.config, clock="event")
    assert len(by_store.signals) > 0
    assert signal_digest(by_lake.result.signals) == signal_digest(by_store.signals)
    assert by_lake.events == sum(1 for _ in read(lake, "experiences").to_pylist())
    outcomes = read(lake, "outcomes")
    assert outcomes.num_rows > 0 and set(outcomes.column("outcome").to_pylist()) == {"nps"}


def test_spark_without_a_lake_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from gapwatch.cli import main

    ws = workspace(tmp_path / "ws")
    for args in (["detect"], ["ingest", str(tmp_path / "x.csv"), "--source", "orders"]):
        with pytest.raises(SystemExit) as stop:
            main([*args, "--workspace", str(ws), "--engine", "spark"])
        err = capsys.readouterr().err.strip().splitlines()
        assert stop.value.code == 2 and len(err) == 1 and "--lake" in err[0]


def test_duckdb_cli_over_a_lake(
    small_world: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from gapwatch.cli import main

    ws, lake = workspace(tmp_path / "ws"), tmp_path / "lake"
    for source in ("orders", "tickets"):
        args = ["ingest", str(small_world / f"{source}.csv"), "--source", source, "--workspace", str(ws)]
        main([*args, "--lake", str(lake), "--json"])
        laked = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert laked["engine"] == "duckdb" and laked["accepted"] > 100
        main(args)  # and into the store
    capsys.readouterr()
    runs = {}
    for extra in ([], ["--lake", str(lake)]):
        main(["detect", "--workspace", str(ws), "--clock", "event", "--json", *extra])
        runs[bool(extra)] = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert runs[True]["digest"] == runs[False]["digest"] and runs[True]["events"] == runs[False]["events"]
    assert runs[True]["signals"] and runs[True]["lake"] == str(lake)
