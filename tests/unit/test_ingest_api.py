"""The Python API (pandas, Polars, Arrow), time zones, expectation versions and crash safety."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pyarrow as pa
import pytest

from gapwatch.adapters.duckdb_store import DuckDBStore
from gapwatch.config import default_config, default_config_text, parse_config
from gapwatch.expectations import sync_expectations
from gapwatch.ingest.files import IngestError, ingest_table

UTC = dt.UTC
ROWS: dict[str, list[Any]] = {
    "order_no": ["A1", "A2", "A3"],
    "cust_no": ["C1", "C2", "C3"],
    "delivered_at": [dt.datetime(2025, 3, 1, 10, tzinfo=UTC), dt.datetime(2025, 3, 2, 10, tzinfo=UTC), None],
    "customer_tier": ["STD", "PREM", "B2B"],
    "delivery_days": [4.0, 2.5, 6.0],
    "promised_days": [None, 3.0, None],
    "carrier": ["DHL", "UPS", "DHL"],
    "region": ["north", "south", "east"],
    "ordered_at": ["2025-02-26", "2025-02-28", "2025-02-20"],
}


def config_with(old: str, new: str) -> Any:
    text = default_config_text()
    assert old in text
    return parse_config(text.replace(old, new))


@pytest.mark.parametrize("kind", ["arrow", "pandas", "polars", "record_batch"])
def test_python_tables_of_every_kind(kind: str) -> None:
    table = pa.table(ROWS)
    given: Any = {
        "arrow": table,
        "pandas": table.to_pandas(),
        "polars": pl.from_arrow(table),
        "record_batch": table.to_batches()[0],
    }[kind]
    store = DuckDBStore(secret=b"k")
    result = ingest_table(store, given, "orders")
    assert (result.accepted, result.duplicate, result.rejected) == (2, 0, 1)
    assert result.counts.reasons == {"missing_timestamp": 1}
    got = store.query(
        "SELECT event_id, value, expected, status, period FROM experiences ORDER BY 1"
    ).to_pylist()
    assert got == [
        {"event_id": "A1", "value": 4.0, "expected": None, "status": 0, "period": dt.date(2025, 3, 1)},
        {"event_id": "A2", "value": 2.5, "expected": 3.0, "status": 0, "period": dt.date(2025, 3, 2)},
    ]
    assert ingest_table(store, given, "orders").accepted == 0


def test_not_a_table_is_refused() -> None:
    with pytest.raises(IngestError):
        ingest_table(DuckDBStore(), [1, 2, 3], "orders")


def test_naive_times_are_read_in_the_workspace_time_zone() -> None:
    config = config_with("timezone: UTC ", "timezone: Europe/Paris ")
    store = DuckDBStore(timezone="Europe/Paris", secret=b"k")
    rows = pa.table(
        {
            **{k: v[:1] * 4 for k, v in ROWS.items()},
            "order_no": ["N", "Z", "O", "S"],
            "delivered_at": [
                "2025-03-01 00:30:00",
                "2025-02-28T23:30:00Z",
                "2025-03-01T00:30:00+00:00",
                "2025-07-01 00:30:00",
            ],
        }
    )
    assert ingest_table(store, rows, "orders", config=config).accepted == 4
    got = {
        r["event_id"]: r
        for r in store.query(
            "SELECT event_id, epoch(occurred_at)::BIGINT AS utc, period FROM experiences"
        ).to_pylist()
    }
    stamp = {
        k: int(dt.datetime.fromisoformat(v).timestamp())
        for k, v in {
            "N": "2025-02-28T23:30:00+00:00",
            "Z": "2025-02-28T23:30:00+00:00",
            "O": "2025-03-01T00:30:00+00:00",
            "S": "2025-06-30T22:30:00+00:00",
        }.items()
    }
    assert {k: r["utc"] for k, r in got.items()} == stamp  # naive = Paris; summer time in July
    assert {k: r["period"] for k, r in got.items()} == {
        "N": dt.date(2025, 3, 1),
        "Z": dt.date(2025, 3, 1),
        "O": dt.date(2025, 3, 1),
        "S": dt.date(2025, 7, 1),
    }


def test_changing_an_expectation_never_rewrites_history() -> None:
    store = DuckDBStore(secret=b"k")
    first = ingest_table(store, pa.table(ROWS).slice(0, 1), "orders", config=default_config())
    assert first.accepted == 1
    before = store.query("SELECT expectation_id, adequate, gap, status FROM experiences").to_pylist()
    stricter = config_with(
        "metric: delivery_days, segment: all, adequate: 5, desired: 2",
        "metric: delivery_days, segment: all, adequate: 3.5, desired: 2",
    )
    change = sync_expectations(store, stricter)
    assert len(change.added) == 1 and len(change.superseded) == 1
    assert store.query("SELECT expectation_id, adequate, gap, status FROM experiences").to_pylist() == before
    later = pa.table({**ROWS, "order_no": ["B1", "B2", "B3"]}).slice(0, 1)
    ingest_table(store, later, "orders", config=stricter)
    rows = {r["event_id"]: r for r in store.table("experiences").to_pylist()}
    assert (rows["A1"]["adequate"], rows["A1"]["status"]) == (5.0, 0)
    assert (rows["B1"]["adequate"], rows["B1"]["status"]) == (3.5, -1)
    assert rows["B1"]["expectation_id"] == change.added[0] != rows["A1"]["expectation_id"]
    history = store.query(
        "SELECT version, superseded_at IS NULL AS current, adequate FROM expectations "
        "WHERE moment = 'delivery' AND segment = 'all' ORDER BY version"
    ).to_pylist()
    assert history == [
        {"version": 1, "current": False, "adequate": 5.0},
        {"version": 2, "current": True, "adequate": 3.5},
    ]
    assert not sync_expectations(store, stricter).changed


def test_segment_zone_else_all_and_validity_window() -> None:
    config = config_with(
        "{moment: delivery, metric: delivery_days, segment: all, adequate: 5, desired: 2, kano: must-be, "
        'valid_from: "2000-01-01"}',
        "{moment: delivery, metric: delivery_days, segment: all, adequate: 5, desired: 2, kano: must-be, "
        'valid_from: "2000-01-01", valid_to: "2025-03-02"}',
    )
    store = DuckDBStore(secret=b"k")
    result = ingest_table(store, pa.table(ROWS).slice(0, 2), "orders", config=config)
    # A1 (standard, 1 March) uses 'all'; A2 is premium (its own zone, no end date).
    assert (result.accepted, result.rejected) == (2, 0)
    late = pa.table(
        {
            **ROWS,
            "order_no": ["L1", "L2", "L3"],
            "delivered_at": [dt.datetime(2025, 3, 2, 10, tzinfo=UTC)] * 3,
        }
    )
    again = ingest_table(store, late.slice(0, 1), "orders", config=config)
    assert again.counts.reasons == {"no_expectation": 1}


def test_a_crash_mid_file_leaves_whole_chunks_and_a_rerun_completes(monkeypatch: pytest.MonkeyPatch) -> None:
    store = DuckDBStore(secret=b"k")
    table = pa.table({**{k: [v[0]] * 10 for k, v in ROWS.items()}, "order_no": [f"O{i}" for i in range(10)]})
    real = store.write_chunk
    calls = {"n": 0}

    def crash_on_third(prepared: Any, chunk: pa.Table) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("power cut")
        return real(prepared, chunk)

    monkeypatch.setattr(store, "write_chunk", crash_on_third)
    with pytest.raises(RuntimeError):
        ingest_table(store, table, "orders", chunk_rows=3)
    assert store.count("experiences") == 6
    monkeypatch.setattr(store, "write_chunk", real)
    rerun = ingest_table(store, table, "orders", chunk_rows=4)
    assert (rerun.accepted, rerun.duplicate) == (4, 6)
    assert store.count("experiences") == 10


def test_a_failing_chunk_is_rolled_back_whole() -> None:
    store = DuckDBStore(secret=b"k")
    with pytest.raises(RuntimeError), store.transaction() as con:
        con.execute("INSERT INTO identities VALUES ('k', 'id', 'customer', now())")
        raise RuntimeError("boom")
    assert store.count("identities") == 0
