"""Values derived in the mapping: spans between two times, late/on time, open promises, auto segments."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pyarrow as pa
import pytest

from gapwatch.adapters.duckdb_store import DuckDBStore
from gapwatch.config import ConfigError, parse_config
from gapwatch.config.schema import WorkspaceConfig
from gapwatch.ingest.files import ingest_file, ingest_table
from gapwatch.monitor.promises import pending_promises, promises_due

BASE = """
version: 1
workspace: {timezone: America/Sao_Paulo}
silos: {delivery: {name: Delivery}}
segments: {north: {name: North}}
metrics:
  delivery_days: {unit: days, direction: lower}
  reply_hours: {unit: h, direction: lower}
  late: {unit: late, direction: lower, kind: rate}
lifecycle:
  - stage: fulfilment
    silo: delivery
    moments:
      - {key: delivery, metrics: [delivery_days, late]}
      - {key: ticket, metrics: [reply_hours]}
expectations:
  - {moment: delivery, metric: delivery_days, adequate: 20, desired: 7}
  - {moment: delivery, metric: late, adequate: 0.5, desired: 0}
  - {moment: ticket, metric: reply_hours, adequate: 24, desired: 2}
sources:
"""
ORDERS = """
  orders:
    event_id: id
    customer_id: cust
    occurred_at: delivered
    moment: {value: delivery}
    segment: %s
    experiences:
      - metric: delivery_days
        value: {between: [ordered, delivered]}
        expected: {between: [ordered, promised]}
"""


def config(sources: str) -> WorkspaceConfig:
    return parse_config(BASE + sources)


def orders(*rows: tuple[str, str, str, str, str]) -> pa.Table:
    names = ["id", "ordered", "promised", "delivered", "state"]
    cols = list(zip(*rows, strict=True)) if rows else [[] for _ in names]
    return pa.table(
        {n: pa.array(list(c), pa.string()) for n, c in zip(names, cols, strict=True)}
        | {"cust": pa.array([f"c{r[0]}" for r in rows], pa.string())}
    )


def stored(store: DuckDBStore, sql: str = "") -> list[dict[str, Any]]:
    table = store.query(
        "SELECT event_id, segment, value, expected, status, occurred_at, due_at, period FROM experiences "
        f"{sql} ORDER BY event_id"
    )
    return table.to_pylist()


def rejected(store: DuckDBStore) -> dict[str, tuple[str, str, str | None]]:
    rows = store.query(
        "SELECT event_id, reason_code, reason, value FROM rejected ORDER BY event_id"
    ).to_pylist()
    return {r["event_id"]: (r["reason_code"], r["reason"], r["value"]) for r in rows}


NOW = dt.datetime(2018, 6, 1, tzinfo=dt.UTC)


def test_between_gives_spans_in_days_and_a_stated_promise() -> None:
    cfg = config(ORDERS % "{value: all}")
    store = DuckDBStore(timezone="America/Sao_Paulo")
    data = orders(
        ("1", "2017-08-30 11:41:01", "2017-09-21 00:00:00", "2017-09-08 20:35:27", "MG"),  # early
        ("2", "2017-12-01 12:00:00", "2017-12-10 00:00:00", "2017-12-12 12:00:00", "SP"),  # 2.5 days late
    )
    result = ingest_table(store, data, "orders", config=cfg, as_of=NOW)
    assert result.summary() == "2 accepted / 0 duplicate / 0 rejected"
    one, two = stored(store)
    assert one["value"] == pytest.approx(9 + (20 + 35 / 60 + 27 / 3600 - 11 - 41 / 60 - 1 / 3600) / 24)
    assert one["expected"] == pytest.approx(21 + (24 - 11 - 41 / 60 - 1 / 3600) / 24)
    assert one["status"] == 0 and one["due_at"] is not None
    # kept promise: judged when it was kept; broken promise: judged when it was broken (the due day)
    assert one["period"] == dt.date(2017, 9, 8)
    assert two["status"] == -1 and two["period"] == dt.date(2017, 12, 10)
    assert two["value"] - two["expected"] == pytest.approx(2.5)


def test_bad_times_and_negative_spans_are_rejected_with_the_value() -> None:
    cfg = config(ORDERS % "{value: all}")
    store = DuckDBStore(timezone="UTC")
    data = orders(
        ("1", "2017-12-01", "2017-12-10", "2017-11-30", "SP"),  # delivered before it was ordered
        ("2", "someday", "2017-12-10", "2017-12-05", "SP"),  # not a time
        ("3", "", "2017-12-10", "2017-12-11", "SP"),  # no start: no value
        ("4", "2017-12-01", "2017-11-20", "2017-12-05", "SP"),  # promised before the order
        ("5", "2017-12-01", "whenever", "2017-12-05", "SP"),  # a promise that is not a time
    )
    result = ingest_table(store, data, "orders", config=cfg, as_of=NOW)
    assert result.accepted == 0 and result.rejected == 5
    got = rejected(store)
    assert got["1"][0] == "negative_span" and got["1"][2] == "-1.0"
    assert "end comes before the start" in got["1"][1]
    assert got["2"][0] == "bad_value" and "'someday'" in got["2"][1] and got["2"][2] == "someday"
    assert got["3"][0] == "missing_value"
    assert "from column 'ordered' to column 'delivered'" in got["3"][1]
    assert got["4"][0] == "negative_span" and "promise comes before the start" in got["4"][1]
    assert got["5"][0] == "bad_expected" and got["5"][2] == "whenever"


def test_open_promises_are_missed_when_due_and_updated_once_kept() -> None:
    cfg = config(ORDERS % "{value: all}")
    store = DuckDBStore(timezone="UTC")
    as_of = dt.datetime(2018, 1, 5, 12, tzinfo=dt.UTC)
    first = orders(
        ("1", "2017-12-01", "2017-12-10", "", "SP"),  # never delivered: missed on 12-10
        ("2", "2017-12-20", "2018-01-10", "", "SP"),  # still open and not due: pending
        ("3", "2017-12-20", "2018-01-10", "", "SP"),
    )
    assert ingest_table(store, first, "orders", config=cfg, as_of=as_of).accepted == 3
    rows = stored(store)
    assert [r["status"] for r in rows] == [-1, None, None]
    assert rows[0]["value"] is None and rows[0]["period"] == dt.date(2017, 12, 10)
    assert pending_promises(store.reader()) == 2
    # the clock passes the promise: the experience is missed on the day it fell due
    with store.transaction() as con:
        assert promises_due(con, dt.datetime(2018, 1, 11, tzinfo=dt.UTC)) == [
            ("delivery", "all", "delivery_days", dt.date(2018, 1, 10))
        ]
    assert [r["status"] for r in stored(store)] == [-1, -1, -1]
    # the same export again adds nothing; the outcomes replace the open rows (never counted twice)
    assert ingest_table(store, first, "orders", config=cfg).duplicate == 3
    later = orders(
        ("1", "2017-12-01", "2017-12-10", "2018-01-20", "SP"),  # finally delivered, very late
        ("2", "2017-12-20", "2018-01-10", "2018-01-08", "SP"),  # delivered in time after all
        ("3", "2017-12-20", "2018-01-10", "", "SP"),  # still open
    )
    result = ingest_table(store, later, "orders", config=cfg)
    assert (result.accepted, result.duplicate, result.counts.updated) == (2, 1, 2)
    rows = stored(store)
    assert len(rows) == 3
    assert rows[0]["status"] == -1 and rows[0]["value"] == pytest.approx(50.0)
    assert rows[0]["period"] == dt.date(2017, 12, 10)  # still the day the promise was broken
    assert rows[1]["status"] == 0 and rows[1]["period"] == dt.date(2018, 1, 8)
    # a kept promise is final: another payload for it is a conflict, as for any experience
    again = orders(("2", "2017-12-20", "2018-01-10", "2018-01-09", "SP"))
    assert ingest_table(store, again, "orders", config=cfg).counts.reasons == {"conflict": 1}


def test_a_promise_without_its_start_is_no_open_promise() -> None:
    # expected: {between: [delivered, promised]} on an undelivered order: nothing says when the
    # promise was made, so the empty outcome is a missing value, not a promise due at some time
    cfg = config(
        ORDERS.replace(
            "expected: {between: [ordered, promised]}", "expected: {between: [delivered, promised]}"
        )
        % "{value: all}"
    )
    store = DuckDBStore(timezone="UTC")
    result = ingest_table(store, orders(("1", "2017-12-01", "2017-12-10", "", "SP")), "orders", config=cfg)
    assert result.counts.reasons == {"missing_timestamp": 1}
    assert pending_promises(store.reader()) == 0


def test_rejected_rows_keep_every_cell_of_an_unnamed_or_repeated_column(tmp_path: Any) -> None:
    # the Olist export starts with pandas' index column, whose header cell is empty
    cfg = config(ORDERS % "{value: all}")
    path = tmp_path / "orders.csv"
    path.write_text(
        ",id,ordered,promised,delivered,cust,note,note\n"  # a repeated column the mapping does not read
        "0,1,2017-12-01,2017-12-10,2017-11-30,c1,x,z\n"  # a negative span: rejected, raw row kept
        "1,2,2017-12-01,2017-12-10,2017-12-05,c2,y,w\n",
        encoding="utf-8",
    )
    store = DuckDBStore(timezone="UTC")
    result = ingest_file(store, path, "orders", config=cfg, as_of=NOW)
    assert (result.accepted, result.counts.reasons) == (1, {"negative_span": 1})
    raw = json.loads(store.query("SELECT raw FROM rejected").column("raw")[0].as_py())
    assert raw["id"] == "1" and raw["ordered"] == "2017-12-01" and raw["cust"] == "c1"
    cells = ["0", "1", "2017-12-01", "2017-12-10", "2017-11-30", "c1", "x", "z"]
    assert sorted(raw.values()) == sorted(cells)


def test_late_is_one_after_the_promise_and_zero_before() -> None:
    cfg = config(
        """
  sla:
    event_id: id
    customer_id: cust
    occurred_at: delivered
    moment: {value: delivery}
    experiences:
      - {metric: late, value: {late: [promised, delivered]}}
"""
    )
    store = DuckDBStore(timezone="UTC")
    data = orders(
        ("1", "x", "2018-01-10", "2018-01-11", "SP"),
        ("2", "x", "2018-01-10", "2018-01-09", "SP"),
        ("3", "x", "2018-01-10", "", "SP"),  # open, due by now: missed
    )
    ingest_table(store, data, "sla", config=cfg, as_of=NOW)
    rows = stored(store)
    assert [(r["value"], r["status"]) for r in rows] == [(1.0, -1), (0.0, 0), (None, -1)]
    assert [r["period"] for r in rows] == [dt.date(2018, 1, 10), dt.date(2018, 1, 9), dt.date(2018, 1, 10)]


def test_auto_segment_labels_become_keys_up_to_the_cap() -> None:
    cfg = config(ORDERS % "{column: state, labels: auto, max: 3}")
    store = DuckDBStore(timezone="UTC")
    data = orders(
        ("1", "2018-01-01", "2018-01-10", "2018-01-05", "SP"),
        ("2", "2018-01-01", "2018-01-10", "2018-01-05", " São Paulo "),
        ("3", "2018-01-01", "2018-01-10", "2018-01-05", "north"),  # declared: never counts to the cap
        ("4", "2018-01-01", "2018-01-10", "2018-01-05", "01001"),
        ("5", "2018-01-01", "2018-01-10", "2018-01-05", "RJ"),  # the 4th new label: over the cap
        ("6", "2018-01-01", "2018-01-10", "2018-01-05", "sp"),  # the same key as SP
        ("7", "2018-01-01", "2018-01-10", "2018-01-05", "!!!"),
        ("8", "2018-01-01", "2018-01-10", "2018-01-05", ""),  # empty: the moment as a whole
    )
    result = ingest_table(store, data, "orders", config=cfg, as_of=NOW)
    assert result.counts.reasons == {"too_many_segments": 1, "bad_segment": 1}
    assert {r["event_id"]: r["segment"] for r in stored(store)} == {
        "1": "sp",
        "2": "sao_paulo",
        "3": "north",
        "4": "s01001",
        "6": "sp",
        "8": "all",
    }
    got = rejected(store)
    assert "would be label 4 of source 'orders'" in got["5"][1] and got["5"][2] == "RJ"
    # the next chunk knows the labels already stored: only new ones count against the cap
    more = orders(
        ("9", "2018-01-02", "2018-01-10", "2018-01-05", "SP"),
        ("10", "2018-01-02", "2018-01-10", "2018-01-05", "MG"),
    )
    result = ingest_table(store, more, "orders", config=cfg, as_of=NOW)
    assert result.accepted == 1 and result.counts.reasons == {"too_many_segments": 1}


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ("{between: [a, b], column: c}", "exactly one of 'column', 'value', 'between' or 'late'"),
        ("{column: c, unit: days}", "'unit' goes with 'between'"),
        ("{between: [a, b], map: {x: y}}", "'map' and 'default' do not apply"),
    ],
)
def test_mapping_mistakes_are_config_problems(mapping: str, message: str) -> None:
    text = f"""
  orders:
    event_id: id
    customer_id: cust
    occurred_at: delivered
    moment: {{value: delivery}}
    experiences:
      - {{metric: delivery_days, value: {mapping}}}
"""
    with pytest.raises(ConfigError) as err:
        config(text)
    assert message in str(err.value)


def test_labels_and_between_only_where_they_mean_something() -> None:
    with pytest.raises(ConfigError, match="'labels: auto' is for the segment"):
        config(
            """
  orders:
    event_id: id
    customer_id: {column: cust, labels: auto}
    occurred_at: delivered
    moment: {value: delivery}
    experiences: [{metric: delivery_days, value: x}]
"""
        )
    with pytest.raises(ConfigError, match="derive experience values"):
        config(
            """
  orders:
    event_id: id
    customer_id: cust
    occurred_at: {between: [a, b]}
    moment: {value: delivery}
    experiences: [{metric: delivery_days, value: x}]
"""
        )
