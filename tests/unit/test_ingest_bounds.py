"""Issue 9 (hostile input): every field of the experience record has a type, a length and a domain.

Each test reproduces one defect seen against a loaded workspace: far-future and far-past
events, values beyond a metric's scale or any physical bound, wrong JSON types, offsets
beyond ±14:00, overlong ids, a source posting another silo's moments, CSV headers that
used to reach generated SQL empty, identifiers that differed only by blanks or case.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from gapwatch.adapters.duckdb_store import DuckDBStore
from gapwatch.config import default_config, default_config_text, parse_config
from gapwatch.domain.bounds import event_window
from gapwatch.expectations import sync_expectations
from gapwatch.ingest.batches import ingest_records
from gapwatch.ingest.files import IngestError, ingest_file, ingest_table
from gapwatch.ingest.readers import safe_names
from gapwatch.workspace import DB_FILE, Workspace, init_workspace

CONFIG = default_config()
NOW = dt.datetime.now(dt.UTC)
GOOD: dict[str, Any] = {
    "event_id": "e1",
    "customer_id": "C-1",
    "occurred_at": "2026-03-01T10:00:00Z",
    "moment": "support_ticket",
    "metric": "csat",
    "value": 4,
}


def post(store: DuckDBStore, events: list[dict[str, Any]], source: str = "api", **kw: Any) -> list[Any]:
    """Ingest ``events`` as the API does; each event's (status, reason_code)."""
    config = kw.pop("config", CONFIG)
    store_schema(store)
    sync_expectations(store, config)
    outcome = ingest_records(store, events, source, config, **kw)
    return [(r.status, r.reason_code) for r in outcome.results]


def store_schema(store: DuckDBStore) -> None:
    from gapwatch.adapters.service_schema import ensure_service_schema

    with store.transaction() as con:
        ensure_service_schema(con)


@pytest.fixture
def store() -> DuckDBStore:
    return DuckDBStore(secret=b"bounds")


def test_event_time_outside_the_window_is_rejected_with_a_reason(store: DuckDBStore) -> None:
    events = [
        {**GOOD, "event_id": "future", "occurred_at": "9999-12-31T00:00:00Z"},
        {**GOOD, "event_id": "2030", "occurred_at": "2030-01-01T00:00:00Z"},
        {**GOOD, "event_id": "tomorrow", "occurred_at": (NOW + dt.timedelta(days=1)).isoformat()},
        {**GOOD, "event_id": "old", "occurred_at": "1900-01-01T00:00:00Z"},
        {**GOOD, "event_id": "bc", "occurred_at": "-2025-03-01"},
        {**GOOD, "event_id": "inf", "occurred_at": "infinity"},
        GOOD,
    ]
    assert post(store, events) == [
        ("rejected", "occurred_in_future"),
        ("rejected", "occurred_in_future"),
        ("accepted", None),  # within the default 48 h ahead
        ("rejected", "occurred_too_early"),
        ("rejected", "occurred_too_early"),
        ("rejected", "bad_timestamp"),
        ("accepted", None),
    ]
    stored = store.query("SELECT max(period) AS hi FROM experiences").to_pylist()[0]["hi"]
    assert stored <= (NOW + dt.timedelta(days=2)).date()
    assert store.query("SELECT count(*) AS n FROM rejected").to_pylist()[0]["n"] == 5


def test_on_the_event_clock_an_event_may_not_run_ahead_of_the_latest(store: DuckDBStore) -> None:
    latest = dt.datetime(2025, 6, 1, 12, tzinfo=dt.UTC)
    window = event_window(CONFIG.workspace, now=NOW, start=NOW, last_event=latest)
    events = [
        {**GOOD, "event_id": "next-day", "occurred_at": "2025-06-02T09:00:00Z"},
        {**GOOD, "event_id": "next-year", "occurred_at": "2026-06-02T09:00:00Z"},
    ]
    assert post(store, events, window=window) == [("accepted", None), ("rejected", "occurred_in_future")]


@pytest.mark.parametrize(
    ("metric", "moment", "value", "code"),
    [
        ("csat", "support_ticket", 99, "value_out_of_range"),  # declared scale 1..5
        ("csat", "support_ticket", 0.5, "value_out_of_range"),
        ("delivery_days", "delivery", -2, "value_out_of_range"),  # a duration is never negative
        ("delivery_days", "delivery", 1e308, "value_out_of_range"),
        ("delivery_days", "delivery", -1e308, "value_out_of_range"),
        ("delivery_days", "delivery", 2**64, "value_out_of_range"),
        ("delivery_days", "delivery", 3653, None),  # ten years: still a measurement
        ("page_load_seconds", "checkout", 1.2, None),
    ],
)
def test_values_outside_their_domain_are_rejected(
    store: DuckDBStore, metric: str, moment: str, value: float, code: str | None
) -> None:
    event = {**GOOD, "moment": moment, "metric": metric, "value": value}
    assert post(store, [event]) == [("rejected" if code else "accepted", code)]


def test_a_declared_range_bounds_values_and_stated_expectations(store: DuckDBStore) -> None:
    text = default_config_text().replace(
        "delivery_days: {unit: days, direction: lower, kind: measure,",
        "delivery_days: {unit: days, direction: lower, kind: measure, range: [0, 60],",
    )
    config = parse_config(text)
    base = {**GOOD, "moment": "delivery", "metric": "delivery_days"}
    events = [
        {**base, "event_id": "a", "value": 61},
        {**base, "event_id": "b", "value": 3, "expected": 90},
        {**base, "event_id": "c", "value": 3, "expected": 4},
    ]
    got = post(store, events, config=config)
    assert got == [
        ("rejected", "value_out_of_range"),
        ("rejected", "expected_out_of_range"),
        ("accepted", None),
    ]
    reason = store.query("SELECT reason FROM rejected WHERE event_id = 'a'").to_pylist()[0]["reason"]
    assert reason == "the value 61.0 of metric 'delivery_days' lies outside its domain 0..60"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("event_id", 123),
        ("event_id", [1, 2]),
        ("event_id", {"a": 1}),
        ("text", {"comment": "an object"}),
        ("attributes", "a string"),
        ("attributes", [1, 2]),
        ("value", "4"),
        ("customer_id", 42),
        ("occurred_at", 1_740_000_000),
        ("moment", ["support_ticket"]),
    ],
)
def test_every_field_of_the_record_has_its_json_type(store: DuckDBStore, field: str, value: Any) -> None:
    got = post(store, [{**GOOD, field: value}])
    assert got == [("rejected", "bad_type")]
    reason = store.query("SELECT reason FROM rejected").to_pylist()[0]["reason"]
    assert reason.startswith(f"{field} must be a ")


def test_offsets_beyond_14_hours_and_overlong_ids_are_rejected(store: DuckDBStore) -> None:
    events = [
        {**GOOD, "event_id": "a", "occurred_at": "2026-03-01T10:00:00+25:00"},
        {**GOOD, "event_id": "b", "occurred_at": "2026-03-01T10:00:00-99:99"},
        {**GOOD, "event_id": "c", "occurred_at": "2026-03-01T10:00:00+05:30:15"},
        {**GOOD, "event_id": "d", "occurred_at": "2026-03-01T10:00:00+14:00"},
        {**GOOD, "event_id": "e", "occurred_at": "2026-03-01T10:00:00-0930"},
        {**GOOD, "event_id": "f", "customer_id": "x" * 100_000},
        {**GOOD, "event_id": "g", "customer_id": "y" * 256},
        {**GOOD, "event_id": "h" * 129},
    ]
    assert post(store, events) == [
        ("rejected", "bad_timestamp"),
        ("rejected", "bad_timestamp"),
        ("rejected", "bad_timestamp"),
        ("accepted", None),
        ("accepted", None),
        ("rejected", "id_too_long"),
        ("accepted", None),
        ("rejected", "event_id_too_long"),
    ]
    longest = store.query("SELECT max(length(customer_id)) AS n FROM identities").to_pylist()[0]["n"]
    assert longest == 256  # the overlong id is kept nowhere but in its rejected raw row


def test_padded_tabbed_and_cased_ids_are_one_customer(store: DuckDBStore) -> None:
    ids = [
        "alice@example.com",
        " alice@example.com ",
        "alice@example.com\t",
        "ALICE@Example.com",
        "\u00a0alice@example.com",
    ]
    events = [{**GOOD, "event_id": f"e{i}", "customer_id": c} for i, c in enumerate(ids)]
    assert {s for s, _ in post(store, events)} == {"accepted"}
    keys = store.query("SELECT DISTINCT customer_key FROM experiences").to_pylist()
    assert keys == [{"customer_key": store.pseudonym("alice@example.com")}]
    assert store.query("SELECT customer_id FROM identities").to_pylist() == [
        {"customer_id": "alice@example.com"}
    ]


def test_a_source_keeps_its_case_when_it_says_so(store: DuckDBStore) -> None:
    text = default_config_text().replace(
        "    event_id: order_no\n", "    event_id: order_no\n    id_case: keep\n"
    )
    config = parse_config(text)
    rows = _orders(cust_no=["Ab1", "ab1 "])
    assert ingest_table(store, rows, "orders", config=config).accepted == 2
    assert sorted(r["customer_id"] for r in store.table("identities").to_pylist()) == ["Ab1", "ab1"]


def test_a_source_may_post_only_its_own_moments(store: DuckDBStore) -> None:
    events = [
        {**GOOD, "event_id": "a", "moment": "delivery", "metric": "delivery_days", "value": 3},
        {**GOOD, "event_id": "b", "moment": "checkout", "metric": "page_load_seconds", "value": 1},
    ]
    assert post(store, events, source="orders") == [("accepted", None), ("rejected", "moment_not_allowed")]
    reason = store.query("SELECT reason FROM rejected").to_pylist()[0]["reason"]
    assert reason == "source 'orders' may not post moment 'checkout' (it may post: delivery)"
    # An undeclared source (only an admin can post for one) is not limited.
    assert post(store, [{**events[1], "event_id": "c"}], source="api") == [("accepted", None)]


def test_a_declared_moments_list_narrows_a_source() -> None:
    text = default_config_text().replace(
        "    event_id: Activity ID\n", "    event_id: Activity ID\n    moments: [demo_request, quote]\n"
    )
    bad = text.replace("moments: [demo_request, quote]", "moments: [demo_request, nowhere]")
    config = parse_config(
        text.replace("Sales Call: sales_call, Welcome Call: welcome_call", "Sales Call: quote")
    )
    assert config.sources["crm"].moments == ["demo_request", "quote"]
    with pytest.raises(ValueError, match=r"sources\.crm\.moments"):
        parse_config(bad)
    with pytest.raises(ValueError, match="which its `moments` list does not allow"):
        parse_config(text)


def _orders(**columns: list[str]) -> pa.Table:
    n = len(next(iter(columns.values())))
    base = {
        "order_no": [f"O{i}" for i in range(n)],
        "cust_no": ["C1"] * n,
        "delivered_at": ["2026-03-01T10:00:00Z"] * n,
        "customer_tier": ["STD"] * n,
        "delivery_days": ["4"] * n,
        "promised_days": [""] * n,
        "carrier": ["DHL"] * n,
        "region": ["north"] * n,
        "ordered_at": ["2026-02-26"] * n,
    }
    return pa.table({**base, **columns})


HEADER = "order_no,cust_no,delivered_at,customer_tier,delivery_days,promised_days,carrier,region,ordered_at"


@pytest.mark.parametrize(
    "extra",
    ["", " ", '"a""b"', "__gw_row", "__gw_line", "'; DROP TABLE experiences; --", "é\u0301 ☃", "\\"],
)
def test_odd_headers_never_reach_sql_unquoted_or_empty(
    tmp_path: Path, store: DuckDBStore, extra: str
) -> None:
    """pandas' to_csv writes '' for an unnamed index: with a rejected row the reject path used to crash."""
    path = tmp_path / "orders.csv"
    cell = '"' + extra.replace('"', '""') + '"' if extra.strip() else extra
    path.write_text(
        f"{cell},{HEADER}\n"
        "0,A1,C1,2026-03-01T10:00:00Z,STD,4,,DHL,north,x\n"
        "1,A2,C2,2026-03-01T10:00:00Z,STD,abc,,DHL,north,x\n",
        encoding="utf-8",
    )
    result = ingest_file(store, path, "orders")
    assert (result.accepted, result.rejected) == (1, 1)
    raw = json.loads(store.query("SELECT CAST(raw AS VARCHAR) AS raw FROM rejected").to_pylist()[0]["raw"])
    name = safe_names([extra, *HEADER.split(",")])[0]
    assert raw["order_no"] == "A2" and raw[name] == "1" and name.strip() and not name.startswith("__gw_")
    assert store.count("experiences") == 1


def test_a_mapped_column_named_twice_makes_the_file_unusable(tmp_path: Path, store: DuckDBStore) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(f"{HEADER},cust_no\nA1,C1,2026-03-01T10:00:00Z,STD,4,,DHL,north,x,C9\n", encoding="utf-8")
    with pytest.raises(IngestError, match="names column\\(s\\) 'cust_no' more than once"):
        ingest_file(store, path, "orders")
    other = tmp_path / "other.csv"  # a repeated column the mapping does not read is harmless
    other.write_text(
        f"{HEADER},note,note\nA1,C1,2026-03-01T10:00:00Z,STD,x,,DHL,north,x,a,b\n", encoding="utf-8"
    )
    result = ingest_file(store, other, "orders")
    assert result.rejected == 1
    raw = store.query("SELECT CAST(raw AS VARCHAR) AS raw FROM rejected").to_pylist()[0]["raw"]
    assert '"note":"a"' in raw and '"note_2":"b"' in raw


def test_no_expectation_in_force(store: DuckDBStore) -> None:
    text = default_config_text().replace(
        "{moment: delivery, metric: delivery_days, segment: all, adequate: 5, desired: 2, kano: must-be, "
        'valid_from: "2000-01-01"}',
        "{moment: delivery, metric: delivery_days, segment: all, adequate: 5, desired: 2, kano: must-be, "
        'valid_from: "2026-03-02"}',
    )
    config = parse_config(text)
    result = ingest_table(store, _orders(cust_no=["C1"]), "orders", config=config)
    assert result.counts.reasons == {"no_expectation": 1}


def test_a_store_holding_far_future_rows_is_repaired_on_open(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Written by an older version: a 9999-12-31 experience, which made live state span 3 million days."""
    root = init_workspace(tmp_path / "ws")
    with Workspace.open(root) as ws:
        ingest_table(ws, _orders(order_no=["ok", "bad"], cust_no=["C1", "C2"]), "orders")
    con = duckdb.connect(str(root / DB_FILE))
    con.execute(
        "UPDATE experiences SET occurred_at = TIMESTAMPTZ '9999-12-31 00:00:00+00', "
        "period = DATE '9999-12-31' "
        "WHERE event_id = 'bad'"
    )
    con.close()
    with caplog.at_level(logging.WARNING, logger="gapwatch.workspace"), Workspace.open(root) as ws:
        assert [r["event_id"] for r in ws.store.table("experiences").to_pylist()] == ["ok"]
        moved = ws.store.query("SELECT event_id, reason_code, file FROM rejected").to_pylist()
    assert moved == [{"event_id": "bad", "reason_code": "occurred_in_future", "file": "(store repair)"}]
    assert "store repair: moved 1 from experiences to `rejected`" in caplog.text


def test_an_open_promise_due_next_year_survives_reopening(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Ingest accepts an open promise due up to a year past the window; opening the store keeps it."""
    root = init_workspace(tmp_path / "ws")
    with Workspace.open(root) as ws:
        ingest_table(ws, _orders(order_no=["open", "far"], cust_no=["C1", "C2"]), "orders")
    con = duckdb.connect(str(root / DB_FILE))
    ahead = dt.datetime.now(dt.UTC) + dt.timedelta(days=200)
    con.execute(  # as a pending promise is stored: no value yet, dated when it falls due
        "UPDATE experiences SET value = NULL, status = NULL, due_at = $at, occurred_at = $at, "
        "period = CAST($at AS DATE) WHERE event_id = 'open'",
        {"at": ahead},
    )
    con.execute(  # and the same date on an experience already observed: that is in the future
        "UPDATE experiences SET occurred_at = $at, period = CAST($at AS DATE) WHERE event_id = 'far'",
        {"at": ahead},
    )
    con.close()
    with caplog.at_level(logging.WARNING, logger="gapwatch.workspace"), Workspace.open(root) as ws:
        assert [r["event_id"] for r in ws.store.table("experiences").to_pylist()] == ["open"]
    assert "store repair: moved 1 from experiences" in caplog.text
