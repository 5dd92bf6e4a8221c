"""Erasure reaches the lake: on DuckDB and on Spark, nothing of the person is left to read.

A customer is erased in the store (their keys join the suppression list); ``erase_lake`` then
rewrites the lake's partitions that hold them: their experiences keep the numbers (the stream
statistics are unchanged) and lose key, event id, text and attributes; their rejects and any
reject or comment that spells their id go. A rerun changes nothing, a re-ingest stores nothing
of them, and partitions a crashed run left aside are put back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from lakehelpers import ingest, read, workspace, write_csv

from gapwatch.customers.erasure import forget_customer
from gapwatch.engines.duckdb_engine import DuckDBEngine
from gapwatch.engines.lake_schema import LAKE_SCHEMAS
from gapwatch.engines.spark_engine import SparkEngine
from gapwatch.ingest.lake_erasure import erase_lake
from gapwatch.metrics import stream_period_stats
from gapwatch.ports import Engine
from gapwatch.workspace import Workspace

ALICE = "Alice.Lee@Example.com"
ORDERS = ["order_no", "cust_no", "delivered_at", "customer_tier", "delivery_days", "promised_days"]
ORDERS += ["carrier", "region", "ordered_at"]
TICKETS = ["ticket_id", "requester", "opened", "plan", "first_reply_hours", "satisfaction", "comment"]
TICKETS += ["channel", "topic"]


def _files(folder: Path) -> dict[str, Path]:
    orders = []
    for i in range(40):
        who = f" {ALICE.upper()} " if i % 4 == 0 else f"cust-{i % 7}"
        day = f"2025-03-{1 + i % 20:02d}T10:00:00Z"
        orders.append(
            [f"alice.lee-{i}" if i % 4 == 0 else f"O-{i}", who, day, "STD", f"{2 + i % 5}", "", "DHL"]
        )
        orders[-1] += ["north", f"note for {ALICE}" if i == 8 else "x"]
    orders.append(["alice.lee-bad", ALICE, "2025-03-02T10:00:00Z", "STD", "n/a", "", "DHL", "n", "x"])
    orders.append(["O-bad", "cust-1", "2025-03-02T10:00:00Z", "STD", "n/a", "", "DHL", "n", "x"])
    tickets = [
        [
            "T-1",
            "cust-1",
            "2025-03-03T09:00:00Z",
            "Standard",
            "3",
            "4",
            f"{ALICE} called me twice",
            "mail",
            "x",
        ],
        [
            "T-2",
            "cust-2",
            "2025-03-03T09:00:00Z",
            "Standard",
            "3",
            "4",
            "alice.lee@example.com2 is another",
            "m",
            "",
        ],
        [
            "T-3",
            "cust-3",
            "2025-03-04T09:00:00Z",
            "Standard",
            "oops",
            "4",
            "about alice.lee@example.com",
            "m",
            "",
        ],
        ["T-4", ALICE, "2025-03-05T09:00:00Z", "Premium", "5", "2", "slow", "phone", "x"],
    ]
    return {
        "orders": write_csv(folder / "orders.csv", ORDERS, orders),
        "tickets": write_csv(folder / "tickets.csv", TICKETS, tickets),
    }


def _engine(name: str, request: pytest.FixtureRequest) -> Engine:
    if name == "spark":
        return SparkEngine(request.getfixturevalue("spark"), timezone="UTC")
    return DuckDBEngine(timezone="UTC")


def _stats(engine: Engine, lake: Path) -> list[dict[str, Any]]:
    engine.load_parquet("experiences", lake / "experiences", LAKE_SCHEMAS["experiences"])
    table = engine.run_ibis(stream_period_stats(engine.ibis_table("experiences")))
    engine.drop("experiences")
    keys = [(c, "ascending") for c in ("moment", "segment", "metric", "period")]
    return table.sort_by(keys).to_pylist()


def _cells(lake: Path) -> list[str]:
    """Every text cell of every lake table, lower case."""
    out = []
    for table in LAKE_SCHEMAS:
        data = read(lake, table)
        for column in data.columns:
            if pa.types.is_string(column.type):
                out += [str(v).lower() for v in column.to_pylist() if v is not None]
    return out


@pytest.mark.parametrize("name", ["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def test_an_erased_customer_leaves_nothing_in_the_lake(
    name: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    ws_folder = workspace(tmp_path / "ws")
    lake = tmp_path / "lake"
    files = _files(tmp_path)
    with _engine(name, request) as engine:
        first = ingest(ws_folder, engine, lake, files)
        before = _stats(engine, lake)
        with Workspace.open(ws_folder) as ws:
            key = ws.store.pseudonym(ALICE.lower())
            assert key in read(lake, "experiences").column("customer_key").to_pylist()
            forget_customer(ws.store, ALICE, "test")  # the store never saw her
            keys = ws.store.table("erased").column("customer_key").to_pylist()
        assert key in keys  # the store's suppression list names the lake's key
        old_files = set((lake / "experiences").rglob("*.parquet"))

        done = erase_lake(engine, lake, keys, [ALICE])

        # hers: 10 orders and a ticket's two experiences; others' text that spells her: T-1 (twice), T-3
        assert done.unlinked["experiences"] == 12 and done.scrubbed["experiences"] == 3
        assert done.deleted == 2  # her bad order, and the reject whose comment spells her id
        cells = _cells(lake)
        assert not [
            c for c in cells if key in c or "alice.lee@example.com" in c.replace("alice.lee@example.com2", "")
        ]
        assert not [c for c in cells if c.startswith("alice.lee-")]  # her event ids spelt her name
        assert "alice.lee@example.com2 is another" in cells  # a whole word only: not another id
        assert _stats(engine, lake) == before  # the numbers stay
        assert not list(lake.glob(".gapwatch-erase-*"))
        touched = {p.parent for p in old_files} - {
            p.parent for p in set((lake / "experiences").rglob("*.parquet"))
        }
        assert not touched  # every partition is still there
        assert old_files - set((lake / "experiences").rglob("*.parquet"))  # the old files are gone

        again = erase_lake(engine, lake, keys, [ALICE])
        assert again.partitions == {} and again.deleted == 0

        second = ingest(ws_folder, engine, lake, files)  # the same exports again
        assert second["orders"]["reasons"].get("erased_customer", 0) + second["orders"]["rejected"] >= 10
        assert second["orders"]["accepted"] == 0 and second["tickets"]["accepted"] == 0
        assert not [c for c in _cells(lake) if key in c]
        assert first["orders"]["accepted"] == 40


def test_partitions_a_crashed_erasure_moved_aside_are_put_back(tmp_path: Path) -> None:
    ws_folder = workspace(tmp_path / "ws")
    lake = tmp_path / "lake"
    with DuckDBEngine(timezone="UTC") as engine:
        ingest(ws_folder, engine, lake, _files(tmp_path))
        rows = read(lake, "experiences").num_rows
        victim = sorted((lake / "experiences").iterdir())[0]
        aside = lake / ".gapwatch-erase-dead" / "aside" / "experiences"
        aside.mkdir(parents=True)
        victim.replace(aside / victim.name)  # as a run killed between its two renames leaves it
        done = erase_lake(engine, lake, [], [])
        assert done.restored == 1 and victim.is_dir() and read(lake, "experiences").num_rows == rows
        assert not list(lake.glob(".gapwatch-erase-*"))


def test_the_cli_erases_in_the_store_and_the_lake(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from gapwatch.cli import main

    ws, lake = workspace(tmp_path / "ws"), tmp_path / "lake"
    files = _files(tmp_path)
    for source, path in files.items():
        args = ["ingest", str(path), "--source", source, "--workspace", str(ws)]
        main([*args, "--lake", str(lake)])
        main(args)  # and into the store
    capsys.readouterr()
    with pytest.raises(SystemExit) as stopped:
        main(["erase", "--workspace", str(ws)])
    assert stopped.value.code == 2
    assert "name the customer ids" in capsys.readouterr().err
    main(["erase", ALICE, "--workspace", str(ws), "--lake", str(lake), "--json"])
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    (customer,) = report["customers"]
    assert customer["identities"] == 1 and customer["experiences_unlinked"] == 12 and customer["compacted"]
    assert report["lake"]["rows_unlinked"]["experiences"] == 12 and report["lake"]["rejects_deleted"] == 2
    assert not [c for c in _cells(lake) if "alice.lee@example.com" in c.replace("example.com2", "")]
    main(["erase", "--workspace", str(ws), "--lake", str(lake)])  # again: nothing left to change
    assert "0 rows unlinked" in capsys.readouterr().out


def test_a_second_writer_waits_for_the_first(tmp_path: Path) -> None:
    import threading

    from gapwatch.ingest.lake_lock import lake_writer

    ws_folder, lake = workspace(tmp_path / "ws"), tmp_path / "lake"
    files = _files(tmp_path)
    finished = threading.Event()

    def second() -> None:
        with DuckDBEngine(timezone="UTC") as engine:
            ingest(ws_folder, engine, lake, {"orders": files["orders"]})
        finished.set()

    with lake_writer(lake):  # an erasure or an ingest in another process, say
        worker = threading.Thread(target=second)
        worker.start()
        assert not finished.wait(1.0)  # it read its file, and waits to dedupe and append
        assert not (lake / "experiences").exists()
    worker.join(60)
    assert finished.is_set() and read(lake, "experiences").num_rows == 40
