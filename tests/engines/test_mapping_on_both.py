"""One mapping, two engines: hostile files give the same counts, reject codes and rows on both.

Every mapping feature the template's sources use (column maps and defaults, constants,
scales, several experiences per row, optional values, stated expectations, composite
columns, text, attributes, anonymous ids) meets hostile cells (numbers and times in every
layout, labels out of the map, ids too long, duplicates and conflicts, newlines and quotes
in cells). The embedded store's own ingest is the reference for the counts.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import pytest
from lakehelpers import EXOTIC_TIMES, NUMBERS, TIMES, ingest, read, workspace, write_csv

from gapwatch.engines.duckdb_engine import DuckDBEngine
from gapwatch.engines.spark_engine import SparkEngine
from gapwatch.ingest.files import ingest_file
from gapwatch.workspace import Workspace

pytestmark = pytest.mark.spark
ZONE = "Europe/Berlin"  # naive times and periods in a zone with summer time


def _tickets(folder: Path) -> Path:
    header = [
        "ticket_id",
        "requester",
        "opened",
        "plan",
        "first_reply_hours",
        "satisfaction",
        "comment",
        "channel",
        "topic",
    ]
    base = [
        "T-0",
        "cust-0@example.com",
        "2025-03-02T10:00:00+01:00",
        "Standard",
        "2.5",
        "4",
        "fine",
        "email",
        "login",
    ]
    records: list[list[str]] = []

    def add(**cells: str) -> None:
        row = list(base)
        row[0] = f"T-{len(records) + 1}"
        row[1] = f"cust-{len(records) % 9}@example.com"
        for name, value in cells.items():
            row[header.index(name)] = value
        records.append(row)

    for n in NUMBERS:
        add(first_reply_hours=n)
        add(satisfaction=n)
    for t in TIMES:
        add(opened=t)
    for plan in ("Standard", " Premium ", "premium", "", "Gold"):
        add(plan=plan)
    for who in ("", "  cust-padded@example.com ", "x" * 300):
        add(requester=who)
    for comment in ("x" * 4001, 'two\nlines, "quoted", ; and ,', "ünïcødé ✓ 日本", ""):
        add(comment=comment)
    add(first_reply_hours="", satisfaction="")
    records.append(["", *base[1:]])
    records.append(["x" * 200, *base[1:]])
    records.append(list(records[0]))  # an exact copy: a duplicate
    conflict = list(records[1])
    conflict[4] = "9.75"
    records.append(conflict)  # the same ticket with another value: a conflict
    return write_csv(folder / "tickets.csv", header, records)


def _tickets_jsonl(folder: Path, csv_file: Path) -> Path:
    """The tickets as JSON lines (other ids), with JSON numbers, nested values and broken lines."""
    with csv_file.open(newline="", encoding="utf-8") as handle:
        records = list(csv.DictReader(handle))
    lines = []
    for i, record in enumerate(records[:60]):
        row: dict[str, Any] = {**record, "ticket_id": f"J-{record['ticket_id']}"}
        if i % 3 == 0 and _plain_number(row["first_reply_hours"]):
            row["first_reply_hours"] = _number(row["first_reply_hours"])  # a JSON number
        if i % 7 == 0:
            row["topic"] = {"nested": [1, 2]}
        if i % 11 == 0:
            del row["plan"]
        lines.append(json.dumps(row, ensure_ascii=i % 2 == 0))
    # (a trailing comma, '{"a": 1, }', DuckDB reads as an object and Spark refuses: left out)
    lines += ["not json", "[1, 2, 3]", '"a string"', "", '{"ticket_id": null}', "{}"]
    path = folder / "tickets.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _number(cell: str) -> float | None:
    try:
        value = float(cell)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _plain_number(cell: str) -> bool:
    """A number Java writes as plainly as Python (see the declared gap of JSON numbers below)."""
    value = _number(cell)
    return value is not None and (value == 0 or 1e-3 <= abs(value) < 1e7)


def _web(folder: Path) -> Path:
    header = ["hit_id", "visitor_id", "user_id", "ts", "page_type", "load_time_ms", "device", "campaign"]
    records = []
    pages = ("landing", "content", "pricing", "checkout", "careers", "")
    for i, ms in enumerate(NUMBERS):
        records.append(
            [
                f"h-{i}",
                f"visitor-{i % 5}" if i % 7 else "",
                f"web-user-{i}" if i % 2 else "",
                f"2025-03-0{1 + i % 9} 1{i % 10}:00:00",
                pages[i % len(pages)],
                ms,
                "mobile",
                "",
            ]
        )
    return write_csv(folder / "web.csv", header, records)


def _orders(folder: Path) -> Path:
    header = [
        "order_no",
        "cust_no",
        "delivered_at",
        "customer_tier",
        "delivery_days",
        "promised_days",
        "carrier",
        "region",
        "ordered_at",
    ]
    records = []
    for i, promised in enumerate(NUMBERS):
        records.append(
            [
                f"SO-{i}",
                f"order-cust-{i % 6}",
                f"2025-03-0{1 + i % 9}T08:00:00Z",
                ("STD", "PREM", "B2B", "VIP")[i % 4],
                "3.5",
                promised,
                "DHL",
                "north",
                "x",
            ]
        )
    return write_csv(folder / "orders.csv", header, records)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("hostile")
    # crm (metrics mapped from a label) is covered by the simulated world's test
    tickets = _tickets(folder)
    return {
        "tickets": tickets,
        "tickets.jsonl": _tickets_jsonl(folder, tickets),
        "web": _web(folder),
        "orders": _orders(folder),
    }


@pytest.fixture(scope="module")
def both(spark: Any, hostile: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The hostile files on the store, and on DuckDB and Spark into two lakes."""
    root = tmp_path_factory.mktemp("both")
    ws = workspace(root / "ws", ZONE)
    with Workspace.open(ws) as opened:
        store = {s: ingest_file(opened, p, s.split(".")[0]).counts.as_dict() for s, p in hostile.items()}
    with DuckDBEngine(timezone=ZONE) as duck:
        on_duck = ingest(ws, duck, root / "lake-duckdb", hostile)
    with SparkEngine(spark, timezone=ZONE) as engine:
        on_spark = ingest(ws, engine, root / "lake-spark", hostile)
    return {"store": store, "duckdb": on_duck, "spark": on_spark, "root": root}


def _plain(counts: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {s: {k: v for k, v in c.items() if k != "rows"} for s, c in counts.items()}


def test_counts_and_reject_codes_are_equal_on_store_duckdb_and_spark(both: dict[str, Any]) -> None:
    assert _plain(both["duckdb"]) == _plain(both["store"])
    assert _plain(both["spark"]) == _plain(both["duckdb"])
    codes = {code for c in both["spark"].values() for code in c["reasons"]}
    # the file really exercises the rules (a test that cannot fail is a defect)
    assert codes >= {
        "bad_value",
        "missing_value",
        "bad_timestamp",
        "missing_timestamp",
        "unmapped_label",
        "missing_customer",
        "missing_event_id",
        "event_id_too_long",
        "text_too_long",
        "conflict",
        "bad_expected",
        "unknown_moment",
    }
    assert both["spark"]["tickets"]["duplicate"] >= 1 and both["spark"]["tickets"]["accepted"] > 40
    assert both["spark"]["tickets.jsonl"]["reasons"]["not_json"] >= 3


def test_lake_rows_are_equal_on_duckdb_and_spark(both: dict[str, Any]) -> None:
    root = both["root"]
    for table in ("experiences", "rejected"):
        duck, spark = read(root / "lake-duckdb", table), read(root / "lake-spark", table)
        assert duck.num_rows > 20
        assert [(f.name, f.type) for f in spark.schema] == [(f.name, f.type) for f in duck.schema]
        assert spark.to_pylist() == duck.to_pylist(), table


@pytest.mark.xfail(
    strict=True,
    reason="not yet: DuckDB reads these as times (24:00, 'epoch', 'infinity', named zones, offsets past "
    "±18:00) and Spark's guard refuses them; naive times in the summer-time change are resolved to "
    "different instants. Issue 9's offset and window rules reject most of them on DuckDB.",
)
def test_exotic_times_are_read_alike(spark: Any, tmp_path: Path) -> None:
    ws = workspace(tmp_path / "ws", ZONE)
    header = [
        "order_no",
        "cust_no",
        "delivered_at",
        "customer_tier",
        "delivery_days",
        "promised_days",
        "carrier",
        "region",
        "ordered_at",
    ]
    records = [[f"X-{i}", "c", t, "STD", "3", "", "DHL", "n", ""] for i, t in enumerate(EXOTIC_TIMES)]
    files = {"orders": write_csv(tmp_path / "orders.csv", header, records)}
    with DuckDBEngine(timezone=ZONE) as duck:
        on_duck = ingest(ws, duck, tmp_path / "lake-duckdb", files)
    with SparkEngine(spark, timezone=ZONE) as engine:
        on_spark = ingest(ws, engine, tmp_path / "lake-spark", files)
    assert _plain(on_spark) == _plain(on_duck)
    duck, spark_rows = (
        read(tmp_path / "lake-duckdb", "experiences"),
        read(tmp_path / "lake-spark", "experiences"),
    )
    assert spark_rows.to_pylist() == duck.to_pylist()


@pytest.mark.xfail(
    strict=True,
    reason="not yet: a JSON number written with an exponent (3e+21, 1.5e-05, 12345678.9 as a number) "
    "keeps its text on DuckDB; Spark's JSON functions re-render it as Java does (3.0E21), so the raw "
    "cell of its reject differs (the value read, and so every count and code, is the same)",
)
def test_json_numbers_keep_their_text_in_rejects(spark: Any, tmp_path: Path) -> None:
    ws = workspace(tmp_path / "ws", ZONE)
    base = {"requester": "c@example.com", "opened": "2025-03-02T10:00:00+01:00", "plan": "Standard"}
    lines = [
        json.dumps({**base, "ticket_id": f"N-{i}", "first_reply_hours": v, "satisfaction": 4})
        for i, v in enumerate((3e21, 12345678.9, -2.5))
    ]
    files = {"tickets.jsonl": tmp_path / "tickets.jsonl"}
    files["tickets.jsonl"].write_text("\n".join(lines) + "\n", encoding="utf-8")
    with DuckDBEngine(timezone=ZONE) as duck:
        on_duck = ingest(ws, duck, tmp_path / "lake-duckdb", files)
    with SparkEngine(spark, timezone=ZONE) as engine:
        on_spark = ingest(ws, engine, tmp_path / "lake-spark", files)
    assert _plain(on_spark) == _plain(on_duck)
    assert on_duck["tickets.jsonl"]["rejected"] >= 2
    duck, spark_rows = read(tmp_path / "lake-duckdb", "rejected"), read(tmp_path / "lake-spark", "rejected")
    assert spark_rows.to_pylist() == duck.to_pylist()
