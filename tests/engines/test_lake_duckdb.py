"""The lake on the embedded engine (no Java needed): the store's answer, re-runs, outcomes."""

from __future__ import annotations

from pathlib import Path

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
