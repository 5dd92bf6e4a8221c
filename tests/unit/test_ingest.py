"""File ingest: every kind of bad row with its reason, exact counts, idempotence, formats."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gapwatch.adapters.duckdb_store import DuckDBStore
from gapwatch.config import default_config
from gapwatch.ingest import readers as ingest_readers
from gapwatch.ingest.files import IngestError, ingest_file

HEADER = "order_no,cust_no,delivered_at,customer_tier,delivery_days,promised_days,carrier,region,ordered_at"
GOOD = "A1,C1,2025-03-01T10:00:00Z,STD,4,,DHL,north,2025-02-26"
MALFORMED_ORDERS = [
    GOOD,  # accepted
    ",C2,2025-03-01T10:00:00Z,STD,4,,DHL,north,x",  # missing_event_id
    "B" * 129 + ",C3,2025-03-01T10:00:00Z,STD,4,,DHL,north,x",  # event_id_too_long
    "A4,,2025-03-01T10:00:00Z,STD,4,,DHL,north,x",  # missing_customer
    "A5,C5,,STD,4,,DHL,north,x",  # missing_timestamp
    "A6,C6,yesterday,STD,4,,DHL,north,x",  # bad_timestamp
    "A7,C7,2025-03-01T10:00:00Z,GOLD,4,,DHL,north,x",  # unmapped_label
    "A8,C8,2025-03-01T10:00:00Z,STD,abc,,DHL,north,x",  # bad_value
    "A9,C9,2025-03-01T10:00:00Z,STD,,,DHL,north,x",  # missing_value
    "A10,C10,2025-03-01T10:00:00Z,PREM,2,soon,DHL,north,x",  # bad_expected
    "A11,C11,2025-03-01T10:00:00Z,STD,4",  # malformed_row
    GOOD,  # duplicate (same payload)
    "A1,C1,2025-03-01T10:00:00Z,STD,9,,DHL,north,2025-02-26",  # conflict
    "A14,C14,1999-12-31T10:00:00Z,STD,4,,DHL,north,x",  # no_expectation
    "A15,C15,2025-03-02 08:00:00,PREM,4,3,UPS,south,2025-02-27",  # accepted (stated 3 days)
    "A16,C16,2025-03-01T10:00:00Z,STD,nan,,DHL,north,x",  # bad_value (not finite)
]
REASONS = {
    "missing_event_id": 1,
    "event_id_too_long": 1,
    "missing_customer": 1,
    "missing_timestamp": 1,
    "bad_timestamp": 1,
    "unmapped_label": 1,
    "bad_value": 2,
    "missing_value": 1,
    "bad_expected": 1,
    "malformed_row": 1,
    "conflict": 1,
    "no_expectation": 1,
}


def write_csv(path: Path, rows: list[str], header: str = HEADER) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def store() -> DuckDBStore:
    return DuckDBStore(secret=b"test secret")


def test_malformed_file_exact_counts_and_reasons(tmp_path: Path, store: DuckDBStore) -> None:
    path = write_csv(tmp_path / "orders.csv", MALFORMED_ORDERS)
    result = ingest_file(store, path, "orders")
    assert (result.accepted, result.duplicate, result.rejected) == (2, 1, 13)
    assert result.counts.received == len(MALFORMED_ORDERS)
    assert result.counts.reasons == REASONS
    rejected = {
        r["reason_code"]: r for r in store.table("rejected").to_pylist() if r["reason_code"] != "bad_value"
    }
    assert rejected["malformed_row"]["row_number"] == 12  # spreadsheet row: the header is row 1
    assert "has 5 fields where the header has 9" in rejected["malformed_row"]["reason"]
    assert rejected["unmapped_label"]["reason"] == (
        "the label 'GOLD' in column 'customer_tier' (segment) is not in the mapping's map"
    )
    assert (
        rejected["bad_expected"]["reason"]
        == "the stated expectation 'soon' in column 'promised_days' is not a number"
    )
    assert rejected["conflict"]["row_number"] == 14
    assert json.loads(rejected["missing_customer"]["raw"])["order_no"] == "A4"
    assert (
        "no expectation is in force for delivery / standard / delivery_days on 1999-12-31"
        in (rejected["no_expectation"]["reason"])
    )
    assert rejected["event_id_too_long"]["event_id"] == "B" * 129


def test_rerun_adds_nothing_and_counts_rejects_again(tmp_path: Path, store: DuckDBStore) -> None:
    path = write_csv(tmp_path / "orders.csv", MALFORMED_ORDERS)
    ingest_file(store, path, "orders")
    again = ingest_file(store, path, "orders")
    assert (again.accepted, again.duplicate, again.rejected) == (0, 3, 13)
    assert store.count("experiences") == 2
    times = store.query("SELECT min(times) AS lo, max(times) AS hi, count(*) AS n FROM rejected").to_pylist()[
        0
    ]
    assert times == {"lo": 2, "hi": 2, "n": 13}


def test_scores_are_stored(tmp_path: Path, store: DuckDBStore) -> None:
    ingest_file(store, write_csv(tmp_path / "o.csv", MALFORMED_ORDERS), "orders")
    rows = {r["event_id"]: r for r in store.table("experiences").to_pylist()}
    a1, a15 = rows["A1"], rows["A15"]
    assert (a1["segment"], a1["value"], a1["adequate"], a1["desired"], a1["gap"], a1["status"]) == (
        "standard",
        4.0,
        5.0,
        2.0,
        1.0,
        0,
    )
    assert a1["gap_norm"] == pytest.approx(1 / 3)
    # premium delivery: adequate 3, desired 1; the customer was promised 3 days and waited 4.
    assert (a15["segment"], a15["expected"], a15["adequate"], a15["gap"], a15["status"]) == (
        "premium",
        3.0,
        3.0,
        -1.0,
        -1,
    )
    assert (a1["stage"], a1["silo"], a1["moment"]) == ("fulfilment", "delivery", "delivery")
    assert json.loads(a1["attributes"]) == {"carrier": "DHL", "region": "north", "ordered_at": "2025-02-26"}
    assert a1["customer_key"] == store.pseudonym("C1") and "C1" not in str(a1)


def test_missing_mapped_column_is_a_file_error(tmp_path: Path, store: DuckDBStore) -> None:
    path = write_csv(
        tmp_path / "o.csv", ["A1,C1,2025-03-01,STD,4"], header="order_no,cust_no,delivered_at,tier,days"
    )
    with pytest.raises(IngestError, match="'customer_tier'"):
        ingest_file(store, path, "orders")
    assert store.count("experiences") == store.count("rejected") == 0


@pytest.mark.parametrize("content", [b"", b"\x89PNG\r\n\x1a\n\x00\x00garbage"])
def test_unreadable_files(tmp_path: Path, store: DuckDBStore, content: bytes) -> None:
    path = tmp_path / "o.parquet"
    path.write_bytes(content)
    with pytest.raises(IngestError):
        ingest_file(store, path, "orders")
    with pytest.raises(IngestError, match="no such file"):
        ingest_file(store, tmp_path / "absent.csv", "orders")


def test_csv_gz_parquet_and_jsonl_give_the_same_experiences(tmp_path: Path) -> None:
    rows = [GOOD, "A2,C2,2025-03-01T11:00:00+01:00,B2B,7,,UPS,east,2025-02-20"]
    csv = write_csv(tmp_path / "o.csv", rows)
    gz = tmp_path / "o.csv.gz"
    gz.write_bytes(gzip.compress(csv.read_bytes()))
    table = ingest_readers.as_arrow(
        pa.csv.read_csv(
            csv,
            convert_options=pa.csv.ConvertOptions(  # type: ignore[attr-defined]
                column_types=dict.fromkeys(HEADER.split(","), pa.string())
            ),
        )
    )
    pq.write_table(table, tmp_path / "o.parquet")
    lines = [json.dumps(r) for r in table.to_pylist()] + ["", "{not json"]
    (tmp_path / "o.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    seen = []
    for name in ("o.csv", "o.csv.gz", "o.parquet", "o.jsonl"):
        store = DuckDBStore(secret=b"k")
        result = ingest_file(store, tmp_path / name, "orders")
        assert result.accepted == 2, name
        seen.append(
            store.query(
                "SELECT event_id, occurred_at, value, gap, status, segment FROM experiences ORDER BY event_id"
            ).to_pylist()
        )
    assert seen[0] == seen[1] == seen[2] == seen[3]
    assert result.counts.reasons == {"not_json": 1}


def test_chunk_and_block_boundaries_do_not_change_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_csv(tmp_path / "o.csv", MALFORMED_ORDERS * 3)
    reference = None
    for chunk_rows, block in ((100_000, 1 << 20), (1, 1 << 20), (3, 512), (5, 300)):
        monkeypatch.setattr(ingest_readers, "BLOCK_BYTES", block)
        store = DuckDBStore(secret=b"k")
        result = ingest_file(store, path, "orders", chunk_rows=chunk_rows)
        got = (
            result.accepted,
            result.duplicate,
            result.rejected,
            store.query("SELECT event_id, value FROM experiences ORDER BY 1").to_pylist(),
            store.query("SELECT reason_code, row_number, times FROM rejected ORDER BY 2, 1").to_pylist(),
        )
        reference = reference or got
        assert got == reference, (chunk_rows, block)
    assert reference[:3] == (2, 1 + 3 * 2, 13 * 3)


def test_multi_experience_rows_and_optional_entries(tmp_path: Path, store: DuckDBStore) -> None:
    header = "ticket_id,requester,opened,plan,first_reply_hours,satisfaction,comment,channel,topic"
    rows = [
        "T1,C1,2025-03-01T09:00:00Z,Business,2,5,thanks,mail,billing",  # two experiences
        "T2,C2,2025-03-01T09:00:00Z,Standard,30,,,chat,login",  # csat optional and empty: one
        "T3,C3,2025-03-01T09:00:00Z,Standard,,4,,chat,login",  # first reply missing: rejected
        f"T4,C4,2025-03-01T09:00:00Z,Premium,1,3,{'x' * 4001},chat,login",  # text too long: both rejected
    ]
    result = ingest_file(store, write_csv(tmp_path / "t.csv", rows, header), "tickets")
    assert (result.accepted, result.duplicate, result.rejected) == (4, 0, 3)
    assert result.counts.reasons == {"missing_value": 1, "text_too_long": 2}
    ids = store.query("SELECT event_id FROM experiences ORDER BY 1").column("event_id").to_pylist()
    assert ids == ["T1:csat", "T1:first_response_hours", "T2:first_response_hours", "T3:csat"]


def test_crm_labels_map_moments_and_metrics(tmp_path: Path, store: DuckDBStore) -> None:
    header = "Activity ID,Contact ID,Created Date,Activity Type,Account Tier,Elapsed,Call Rating,Notes,Owner"
    rows = [
        "X1,C1,2025-03-01T09:00:00Z,Demo Request,Business,3,,,ann",  # response_hours, business zone
        "X2,C2,2025-03-01T09:00:00Z,Sales Call,Standard,,4,good,bob",  # call_rating only
        "X3,C3,2025-03-01T09:00:00Z,Webinar,Standard,2,,,bob",  # unmapped activity label
        "X4,C4,2025-03-01T09:00:00Z,Quote Sent,Standard,,,,bob",  # both optional entries empty
    ]
    result = ingest_file(store, write_csv(tmp_path / "crm.csv", rows, header), "crm")
    assert (result.accepted, result.rejected) == (2, 2)
    assert result.counts.reasons == {"unmapped_label": 1, "no_experience": 1}
    got = store.query("SELECT event_id, moment, metric, adequate FROM experiences ORDER BY 1").to_pylist()
    assert got == [
        {
            "event_id": "X1:response_hours",
            "moment": "demo_request",
            "metric": "response_hours",
            "adequate": 8.0,
        },
        {"event_id": "X2:call_rating", "moment": "sales_call", "metric": "call_rating", "adequate": 3.0},
    ]


def test_outcome_source_goes_to_outcomes(tmp_path: Path, store: DuckDBStore) -> None:
    rows = [
        "C1,2025-04-01T10:00:00Z,9",
        "C2,2025-04-01T10:00:00Z,ten",
        ",2025-04-01,3",
        "C1,2025-04-01T10:00:00Z,9",
    ]
    result = ingest_file(
        store, write_csv(tmp_path / "survey.csv", rows, "customer,answered_at,score"), "survey"
    )
    assert (result.accepted, result.duplicate, result.rejected) == (1, 1, 2)
    out = store.table("outcomes").to_pylist()[0]
    assert (out["event_id"], out["outcome"], out["value"]) == ("C1|2025-04-01T10:00:00Z", "nps", 9.0)
    assert out["customer_key"] == store.pseudonym("C1")


def test_identities_hold_the_only_real_ids(tmp_path: Path, store: DuckDBStore) -> None:
    ingest_file(store, write_csv(tmp_path / "o.csv", MALFORMED_ORDERS), "orders")
    ids = store.query(
        "SELECT customer_id, customer_key, kind FROM identities WHERE customer_id = 'C1'"
    ).to_pylist()
    assert ids == [{"customer_id": "C1", "customer_key": store.pseudonym("C1"), "kind": "customer"}]
    config = default_config()
    assert config.sources["orders"].customer_id is not None


def test_read_ahead_keeps_order_raises_where_the_reader_failed_and_stops_on_close() -> None:
    chunks = [ingest_readers.Chunk(pa.table({"x": [i]}), [], i) for i in range(3)]

    def failing() -> Iterator[ingest_readers.Chunk]:
        yield from chunks
        raise ingest_readers.UnreadableFile("broken at the end")

    got = []
    with pytest.raises(ingest_readers.UnreadableFile, match="broken at the end"):
        for chunk in ingest_readers.read_ahead(failing()):
            got.append(chunk.position)
    assert got == [0, 1, 2]

    closed = []

    def endless() -> Iterator[ingest_readers.Chunk]:
        try:
            while True:
                yield chunks[0]
        finally:
            closed.append(True)

    ahead = ingest_readers.read_ahead(endless())
    assert next(ahead).position == 0
    ahead.close()  # joins the reader thread, which closes the source
    assert closed == [True]
