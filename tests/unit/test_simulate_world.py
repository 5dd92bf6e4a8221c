"""The simulated world: determinism, truth consistency, funnel, dirty rows."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gapwatch.domain.gap import Status
from gapwatch.simulate import WorldParams, simulate, write_world
from gapwatch.simulate.incidents import min_days


def _files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


def test_same_seed_same_files_other_seed_other_files(tmp_path: Path) -> None:
    for name, seed in (("a", 9), ("b", 9), ("c", 10)):
        write_world(simulate(customers=800, days=90, seed=seed, incidents=2), tmp_path / name)
    a, b, c = (_files(tmp_path / n) for n in "abc")
    assert a == b
    assert a.keys() == c.keys()
    assert all(a[k] != c[k] for k in a)


def test_generation_is_pure_and_deterministic() -> None:
    one, two = (simulate(customers=500, days=70, seed=3, incidents=1) for _ in range(2))
    assert np.array_equal(one.touches.t, two.touches.t)
    assert np.array_equal(one.values.value, two.values.value)
    assert one.incidents == two.incidents


def test_incidents_come_after_a_clean_baseline_and_are_staggered() -> None:
    world = simulate(customers=3000, days=180, seed=4, incidents=5)
    assert len(world.incidents) == 5
    assert min(i.start_day for i in world.incidents) >= 28 + 14
    assert max(i.end_day for i in world.incidents) < 180
    assert len({i.start_day for i in world.incidents}) == 5
    assert all(1.5 <= i.size <= 6 for i in world.incidents)  # the harder world's sizes start at ×1.5
    assert len({(i.moment, i.segment, i.metric) for i in world.incidents}) == 5


def test_too_short_a_window_for_incidents_is_refused() -> None:
    with pytest.raises(ValueError, match="--days must be at least"):
        simulate(customers=100, days=min_days(28) - 1, seed=1, incidents=1)
    assert simulate(customers=100, days=20, seed=1, incidents=0).incidents == []


def test_not_everyone_converts_and_journeys_take_weeks() -> None:
    world = simulate(customers=5000, days=180, seed=2, incidents=0)
    stages = world.spec.stages
    reached = (~np.isnan(world.journeys.entry)).mean(axis=0)
    assert reached[0] == 1.0 and np.all(np.diff(reached) <= 0)
    assert 0.2 < reached[stages.index("commitment")] < 0.6
    done = ~np.isnan(world.journeys.entry[:, -1])
    weeks = (world.journeys.entry[done, -1] - world.journeys.entry[done, 0]) / 7
    assert 6 < np.median(weeks) < 26


def test_in_control_miss_rates_match_the_stream_parameters() -> None:
    # the classic world: the harder one's weekly rhythm, peaks and drifts move the rate off p0 on purpose
    world = simulate(customers=20000, days=120, seed=6, incidents=0, params=WorldParams.plain())
    status, stream = world.values.status, world.rows.stream
    for sid in range(len(world.rows.streams)):
        mine = stream == sid
        p0 = world.values.p0[mine][0]
        rate = np.mean(status[mine] == Status.MISSED)
        assert abs(rate - p0) < 4 * np.sqrt(p0 * (1 - p0) / mine.sum()) + 0.002, world.rows.streams[sid]


def test_truth_matches_the_files(tmp_path: Path) -> None:
    world = simulate(customers=3000, days=120, seed=8, incidents=3)
    files = write_world(world, tmp_path)
    truth = json.loads((tmp_path / "truth.json").read_text())
    assert truth["files"] == files
    assert [i["id"] for i in truth["incidents"]] == ["INC-1", "INC-2", "INC-3"]
    assert {"moment", "segment", "metric", "start", "end", "size"} <= set(truth["incidents"][0])
    survey = pd.read_csv(tmp_path / "survey.csv")
    assert list(survey.columns) == ["customer", "answered_at", "score"]
    assert survey.score.between(0, 10).all()
    by_id = {c["customer_id"]: c for c in truth["customers"] if c["customer_id"]}
    assert all(by_id[r.customer]["nps"] == r.score for r in survey.itertuples())
    answered = sum(c["nps"] is not None for c in truth["customers"])
    assert answered == len(survey)
    ended = [c for c in truth["customers"] if c["journey_ended"]]
    assert 0.1 < len(survey) / len(ended) < 0.3
    for c in truth["customers"][:200]:
        assert c["segment"] in {"standard", "premium", "business"}
        assert c["misses"] <= c["experiences"]
        if c["nps_answered"]:
            assert c["nps_answered"] >= c["journey_ended"]


def test_dirty_rows_are_added_and_recorded(tmp_path: Path) -> None:
    clean = write_world(simulate(customers=1500, days=90, seed=12, incidents=1), tmp_path / "clean")
    dirty = write_world(
        simulate(customers=1500, days=90, seed=12, incidents=1), tmp_path / "dirty", dirty=0.05
    )
    truth = json.loads((tmp_path / "dirty" / "truth.json").read_text())
    injected = truth["dirty"]["injected"]
    for name in ("web", "crm", "orders", "usage", "tickets"):
        extra = [i for i in injected if i["source"] == name]
        assert dirty[name] - clean[name] == len(extra) == round(0.05 * clean[name])
    assert dirty["survey"] == clean["survey"]
    kinds = {i["kind"] for i in injected}
    assert kinds == {"missing_customer", "unknown_moment", "bad_timestamp", "text_in_number", "duplicate"}
    crm = pd.read_csv(tmp_path / "dirty" / "crm.csv", dtype=str, keep_default_na=False)
    for item in (i for i in injected if i["source"] == "crm"):
        row = crm.iloc[item["row"] - 1]
        assert row["Activity ID"] == item["event_id"]
        if item["kind"] == "bad_timestamp":
            with pytest.raises(ValueError):
                dt.datetime.fromisoformat(row["Created Date"])
        elif item["kind"] == "missing_customer":
            assert row["Contact ID"] == ""
        elif item["kind"] == "unknown_moment":
            assert row["Activity Type"] not in {"Demo Request", "Quote Sent", "Sales Call", "Welcome Call"}
        elif item["kind"] == "duplicate":
            assert (crm == row).all(axis=1).sum() == 2


def test_one_systemic_incident_from_three_on() -> None:
    for k, systemic in ((2, 0), (3, 1), (5, 1), (8, 1)):
        world = simulate(customers=1500, days=120, seed=12, incidents=k)
        assert len(world.incidents) == k
        wide = [i for i in world.incidents if i.systemic]
        assert len(wide) == systemic
        for inc in wide:  # the busiest must-be moment x metric, every segment, early enough
            assert (inc.moment, inc.segment, inc.metric, inc.size) == (
                "delivery",
                "all",
                "delivery_days",
                3.0,
            )
            assert 42 <= inc.start_day < 49 and inc.end_day - inc.start_day + 1 == 42
            assert all(i.moment != "delivery" for i in world.incidents if not i.systemic)
            covered = [s for s in world.rows.streams if inc.covers(s)]
            assert covered == [("delivery", s, "delivery_days") for s in ("standard", "premium", "business")]


def test_the_systemic_multiplier_reaches_every_segment() -> None:
    from gapwatch.simulate.incidents import multiplier, rows_hit

    world = simulate(customers=1500, days=120, seed=12, incidents=3)
    (inc,) = [i for i in world.incidents if i.systemic]
    hit = rows_hit(world.rows, inc)
    on = {world.rows.streams[s][1] for s in np.unique(world.rows.stream[hit])}
    assert on == {"standard", "premium", "business"}
    size = multiplier(world.rows, world.incidents)
    assert np.all(size[hit] == 3.0)
    days = world.rows.day[hit]
    assert days.min() >= inc.start_day and days.max() <= inc.end_day
