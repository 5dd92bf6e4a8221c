"""The DuckDB store: schema, keyed ids, hash canary, read-only opening."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import pyarrow as pa
import pytest

from gapwatch.adapters.duckdb_store import TABLES, DuckDBStore
from gapwatch.ingest.files import ingest_table


def test_tables_exist_and_start_empty() -> None:
    store = DuckDBStore()
    assert all(store.count(name) == 0 for name in TABLES if name != "expectations")
    names = set(
        store.query("SELECT table_name FROM information_schema.tables").column("table_name").to_pylist()
    )
    assert set(TABLES) <= names
    assert not names & {"stream_periods", "signals", "alerts", "cases"}  # left to their owners


@pytest.mark.parametrize("secret", [b"short", b"x" * 64, b"y" * 100])
def test_sql_pseudonyms_are_hmac_sha256(secret: bytes) -> None:
    store = DuckDBStore(secret=secret)
    rows = pa.table(
        {
            "order_no": ["A", "B"],
            "cust_no": ["Zoë", "C-42"],
            "delivered_at": ["2025-03-01"] * 2,
            "customer_tier": ["STD"] * 2,
            "delivery_days": ["3"] * 2,
            "promised_days": [""] * 2,
            "carrier": [""] * 2,
            "region": [""] * 2,
            "ordered_at": [""] * 2,
        }
    )
    ingest_table(store, rows, "orders")
    got = dict(
        store.query("SELECT customer_id, customer_key FROM identities").to_pylist()[i].values()
        for i in range(2)
    )  # type: ignore[misc]
    for customer, key in got.items():
        assert key == hmac.new(secret, customer.encode(), hashlib.sha256).hexdigest()[:32]
        assert key == store.pseudonym(customer)


def test_hash_canary_rehashes_stored_rows(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    rows = pa.table(
        {
            "order_no": ["A"],
            "cust_no": ["C"],
            "delivered_at": ["2025-03-01"],
            "customer_tier": ["STD"],
            "delivery_days": ["3"],
            "promised_days": [""],
            "carrier": [""],
            "region": [""],
            "ordered_at": [""],
        }
    )
    with DuckDBStore(path, secret=b"k") as store:
        ingest_table(store, rows, "orders")
        store.query("SELECT 1")
        with store.transaction() as con:  # pretend an older DuckDB hashed differently
            con.execute("UPDATE experiences SET key_hash = 1, payload_hash = 2")
            con.execute("UPDATE gapwatch_meta SET value = 'old' WHERE key = 'hash_canary'")
    with DuckDBStore(path, secret=b"k") as store:
        assert ingest_table(store, rows, "orders").duplicate == 1


def test_read_only_store_refuses_writes(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    DuckDBStore(path).close()
    with DuckDBStore(path, read_only=True) as store:
        assert store.count("experiences") == 0
        with pytest.raises(PermissionError):
            store.transaction().__enter__()
