"""The simulated source files, read back as an ingest would: layout, ids, timestamps, incidents."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom

from gapwatch.config import default_config
from gapwatch.config.schema import FieldSpec, Source
from gapwatch.simulate import simulate, write_world

CONFIG = default_config()
START = dt.date(2025, 1, 6)


@pytest.fixture(scope="module")
def world_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("world")
    write_world(simulate(customers=13000, days=150, seed=5, start=START, incidents=5), out)
    return out


def _columns(spec: FieldSpec | None) -> set[str]:
    return {spec.column} if spec is not None and spec.column else set()


def mapping_columns(source: Source) -> set[str]:
    """Every column a source mapping reads."""
    cols = set(source.event_id) | set(source.attributes)
    for spec in (
        source.customer_id,
        source.anonymous_id,
        source.occurred_at,
        source.moment,
        source.segment,
        source.text,
        source.value,
    ):
        cols |= _columns(spec)
    for entry in source.experiences:
        cols |= _columns(entry.metric) | _columns(entry.value) | _columns(entry.expected)
    return cols


def read(out: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(out / f"{name}.csv", dtype=str, keep_default_na=False, na_values=[""])


def test_one_file_per_source_with_exactly_the_mapped_columns(world_dir: Path) -> None:
    for name, source in CONFIG.sources.items():
        header = read(world_dir, name).columns
        assert set(header) == mapping_columns(source), name
        assert len(header) == len(set(header))


def test_event_ids_are_unique_per_source(world_dir: Path) -> None:
    for name, source in CONFIG.sources.items():
        frame = read(world_dir, name)
        assert len(frame) > 0
        assert not frame.duplicated(subset=source.event_id).any(), name
        assert frame[source.event_id].notna().all().all()


def test_timestamps_are_iso_with_offset_inside_the_window(world_dir: Path) -> None:
    first = dt.datetime(START.year, START.month, START.day, tzinfo=dt.UTC)
    for name, source in CONFIG.sources.items():
        assert source.occurred_at.column is not None
        texts = read(world_dir, name)[source.occurred_at.column]
        assert texts.str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d").all(), name
        parsed = [dt.datetime.fromisoformat(t) for t in texts[:2000]]
        assert all(p.utcoffset() is not None and first <= p < first + dt.timedelta(days=150) for p in parsed)


def test_raw_labels_and_units_follow_each_mapping(world_dir: Path) -> None:
    crm, orders, web = read(world_dir, "crm"), read(world_dir, "orders"), read(world_dir, "web")
    assert set(crm["Activity Type"]) == {"Demo Request", "Quote Sent", "Sales Call", "Welcome Call"}
    assert set(crm["Account Tier"]) == {"Standard", "Premium", "Business"}
    assert set(orders["customer_tier"]) == {"STD", "PREM", "B2B"}
    assert web["load_time_ms"].str.fullmatch(r"\d+").all()  # milliseconds, as integers
    calls = crm["Activity Type"] == "Sales Call"
    assert crm.loc[calls, "Elapsed"].isna().all() and crm.loc[~calls, "Call Rating"].isna().all()
    assert set(crm.loc[calls, "Call Rating"].astype(int)) <= {1, 2, 3, 4, 5}


def test_visitors_are_anonymous_until_they_sign_up(world_dir: Path) -> None:
    web = read(world_dir, "web")
    web = web.assign(t=pd.to_datetime(web["ts"], utc=True)).sort_values("t", kind="stable")
    known = web["user_id"].notna().groupby(web["visitor_id"])
    users = web.dropna(subset=["user_id"]).groupby("visitor_id")["user_id"].nunique()
    assert (users == 1).all()  # one visitor cookie belongs to one customer
    assert known.any().mean() < 0.7  # most prospects never sign up: they stay anonymous
    linked = known.any()[known.any()].index
    assert len(linked) > 1000
    assert (~known.first()[linked]).mean() > 0.5  # most linked visitors browsed anonymously first
    assert known.apply(lambda s: bool(s.cummax().eq(s).all())).all()  # after sign-up every hit is linked
    buyers = set(read(world_dir, "orders")["cust_no"])
    assert len(buyers & set(web["user_id"].dropna())) > 0.8 * len(
        buyers
    )  # the same customer ids across systems


def test_weekends_dip(world_dir: Path) -> None:
    for name, column in (
        ("crm", "Created Date"),
        ("orders", "delivered_at"),
        ("usage", "started_at"),
        ("tickets", "opened"),
        ("web", "ts"),
    ):
        days = pd.to_datetime(read(world_dir, name)[column], utc=True).dt.tz_convert("UTC")
        per_weekday = days.dt.day_of_week.value_counts().reindex(range(7), fill_value=0)
        weekday, weekend = per_weekday[:5].mean(), per_weekday[5:].mean()
        assert weekend < 0.85 * weekday, name


def _zone(moment: str, metric: str, segment: str) -> tuple[float, float]:
    found = [
        e
        for e in CONFIG.expectations
        if e.moment == moment and e.metric == metric and e.segment in (segment, "all")
    ]
    best = max(found, key=lambda e: e.segment == segment)
    return best.adequate, best.desired


def scored(out: Path, name: str) -> pd.DataFrame:
    """Rows of one source as (day, moment, segment, metric, missed), scored the way DESIGN.md says."""
    source = CONFIG.sources[name]
    frame = read(out, name)
    assert source.occurred_at.column is not None
    base = pd.DataFrame({"day": pd.to_datetime(frame[source.occurred_at.column], utc=True).dt.date})
    base["moment"] = _field(frame, source.moment)
    base["segment"] = _field(frame, source.segment)
    parts = []
    for entry in source.experiences:
        part = base.copy()
        part["metric"] = _field(frame, entry.metric)
        assert entry.value.column is not None
        part["value"] = pd.to_numeric(frame[entry.value.column]) * (entry.value.scale or 1.0)
        part["expected"] = (
            pd.to_numeric(frame[entry.expected.column])
            if entry.expected and entry.expected.column
            else np.nan
        )
        parts.append(part.dropna(subset=["metric", "value"]))
    rows = pd.concat(parts, ignore_index=True)
    rows["missed"] = [_missed(r) for r in rows.itertuples()]
    return rows


def _field(frame: pd.DataFrame, spec: FieldSpec | None) -> Any:
    assert spec is not None
    if spec.column is None:
        return spec.value
    return frame[spec.column].map(spec.map) if spec.map else frame[spec.column]


def _missed(row: Any) -> bool:
    adequate, _ = _zone(row.moment, row.metric, row.segment)
    if not np.isnan(row.expected):
        adequate = row.expected
    sign = 1.0 if CONFIG.metrics[row.metric].direction == "higher" else -1.0
    return bool(sign * (row.value - adequate) < 0)


def test_incidents_raise_the_miss_rate_of_their_stream(world_dir: Path) -> None:
    truth = json.loads((world_dir / "truth.json").read_text())
    assert len(truth["incidents"]) == 5
    assert len({i["source"] for i in truth["incidents"]}) >= 3  # different silos and systems
    assert [i["volume"] for i in truth["incidents"]].count("systemic") == 1
    assert {i["volume"] for i in truth["incidents"]} == {"busy", "thin", "systemic"}
    for inc in truth["incidents"]:
        assert dt.date.fromisoformat(inc["start"]) >= START + dt.timedelta(days=truth["baseline_days"])
        rows = scored(world_dir, inc["source"])
        stream = rows[
            (rows.moment == inc["moment"])
            & (rows.metric == inc["metric"])
            & ((rows.segment == inc["segment"]) | (inc["segment"] == "all"))
        ]
        inside = stream.day.between(dt.date.fromisoformat(inc["start"]), dt.date.fromisoformat(inc["end"]))
        n, k = int(inside.sum()), int(stream.missed[inside].sum())
        p_out = stream.missed[~inside].mean()
        if not inc["systemic"]:  # a systemic incident pools segments with different rates (below)
            assert (
                abs(p_out - inc["baseline_miss_rate"])
                < 4 * np.sqrt(p_out * (1 - p_out) / (~inside).sum()) + 0.005
            )
        assert k / n > 1.4 * p_out, inc
        assert binom.sf(k - 1, n, p_out) < 0.01, inc  # far beyond what the baseline rate explains
        assert (n, k) == (inc["events"], inc["missed"])


def test_a_systemic_incident_raises_the_miss_rate_of_every_segment(world_dir: Path) -> None:
    truth = json.loads((world_dir / "truth.json").read_text())
    (inc,) = [i for i in truth["incidents"] if i["systemic"]]
    assert (inc["moment"], inc["segment"], inc["metric"]) == ("delivery", "all", "delivery_days")
    assert inc["size"] == 3.0 and inc["days"] == 42
    rows = scored(world_dir, inc["source"])
    stream = rows[(rows.moment == inc["moment"]) & (rows.metric == inc["metric"])]
    inside = stream.day.between(dt.date.fromisoformat(inc["start"]), dt.date.fromisoformat(inc["end"]))
    segments = sorted(set(stream.segment))
    assert segments == ["business", "premium", "standard"]
    for segment in segments:
        mine = stream.segment == segment
        n, k = int((mine & inside).sum()), int(stream.missed[mine & inside].sum())
        p_out = float(stream.missed[mine & ~inside].mean())
        assert 2.0 * p_out < k / n < 4.0 * p_out, (segment, k / n, p_out)  # x3, give or take
        assert binom.sf(k - 1, n, p_out) < 1e-6, segment
    # truth: every segment's stream carries the incident; the others of the moment x metric none
    flagged = {(s["moment"], s["segment"]) for s in truth["streams"] if s["incident"]}
    assert {("delivery", s) for s in segments} <= flagged
    # local incidents go elsewhere: no other incident on the systemic moment
    assert [i["moment"] for i in truth["incidents"]].count("delivery") == 1


def test_streams_without_incident_stay_in_control(world_dir: Path) -> None:
    truth = json.loads((world_dir / "truth.json").read_text())
    rows = scored(world_dir, "orders")
    for stream in truth["streams"]:
        if stream["moment"] != "delivery" or stream["incident"]:
            continue
        mine = rows[rows.segment == stream["segment"]]
        first, second = (
            mine[mine.day < START + dt.timedelta(days=75)],
            mine[mine.day >= START + dt.timedelta(days=75)],
        )
        se = np.sqrt(stream["miss_rate"] * (1 - stream["miss_rate"]) * (1 / len(first) + 1 / len(second)))
        assert abs(first.missed.mean() - second.missed.mean()) < 4 * se
