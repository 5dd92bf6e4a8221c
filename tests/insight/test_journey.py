"""Outcome prediction during the journey on a simulated world: no leakage, AUC, lead time, re-scoring."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from gapwatch.insight import journey_service as js
from gapwatch.insight.journey import JourneyEvents, snapshots
from gapwatch.simulate import simulate, write_world
from gapwatch.workspace import Workspace, init_workspace


def _events(customer: list[str], time: list[float], moment: list[str], gap: list[float]) -> JourneyEvents:
    n = len(customer)
    g = np.asarray(gap, dtype=float)
    return JourneyEvents(
        np.asarray(customer, dtype=object),
        np.asarray(time, dtype=float),
        np.asarray(moment, dtype=object),
        g,
        g < 0,
        np.zeros(n, bool),
        np.full(n, np.nan),
        np.full(n, np.nan),
        np.full(n, np.nan),
        np.zeros(n, bool),
        np.zeros(n, bool),
    )


def test_a_snapshot_sees_only_the_past() -> None:
    e = _events(
        ["a", "a", "a", "b"],
        [1.0, 5.0, 9.0, 2.0],
        ["delivery", "quote", "delivery", "quote"],
        [0.5, -2.0, -1.0, 0.2],
    )
    snaps = snapshots(e)
    names = snaps.features.names
    rows = snaps.last_before(np.array(["a", "a", "b", "c"], dtype=object), np.array([5.0, 10.0, 3.0, 3.0]))
    assert rows[3] == -1  # no events at all
    before = snaps.features.x[rows[0]]  # strictly before day 5: only the first delivery
    assert before[names.index("misses")] == 0 and before[names.index("quote: seen")] == 0
    after = snaps.features.x[rows[1]]
    assert after[names.index("misses")] == 2 and after[names.index("worst_gap")] == -2.0
    assert after[names.index("delivery: worst_gap")] == -1.0 and after[names.index("days_since_miss")] == 0.0
    assert after[names.index("journey_days")] == 8.0


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from gapwatch.ingest.files import ingest_file

    folder = tmp_path_factory.mktemp("journey")
    write_world(simulate(customers=9000, days=300, seed=21, incidents=3), folder / "sources")
    init_workspace(folder / "ws")
    with Workspace.open(folder / "ws") as ws:
        for name in ("web", "crm", "orders", "usage", "tickets", "survey"):
            ingest_file(ws, folder / "sources" / f"{name}.csv", name)
    return folder / "ws"


@pytest.mark.slow
def test_time_split_evaluation_reports_auc_calibration_and_lead_time(world: Path) -> None:
    with Workspace.open(world, read_only=True) as ws:
        data = js.load_data(ws.store.reader())
    ev = js.evaluate(data, precision=0.8, seed=1)
    assert ev.test_answers > 150 and ev.positives_test > 30
    assert ev.cut.isoformat() > "2025-06"  # the later answers are the test
    assert ev.auc is not None and ev.auc > 0.8
    assert ev.calibration.ece < 0.12
    assert ev.flagged > 10 and ev.precision_reached is not None and ev.precision_reached > 0.6
    assert ev.lead_days_median is not None and ev.lead_days_median > 7  # flagged well before the answer


@pytest.mark.slow
def test_new_events_rescore_without_retraining(world: Path) -> None:
    from gapwatch.adapters.service_schema import ensure_service_schema
    from gapwatch.ingest.batches import ingest_records

    with Workspace.open(world) as ws:
        data = js.load_data(ws.store.reader())
        model = js.train(data, seed=2)
        silo_of = {m: ws.lifecycle.silo_of(m) for m in ws.lifecycle.moments}
        risks = js.score_customers(data, model, silo_of)
        assert risks and all(a.risk >= b.risk for a, b in itertools.pairwise(risks))
        calm = next(r for r in reversed(risks) if not r.reasons)
        cid = (
            ws.store.reader()
            .execute("SELECT min(customer_id) FROM identities WHERE customer_key = ?", [calm.customer_key])
            .fetchall()[0][0]
        )
        with ws.store.transaction() as con:
            ensure_service_schema(con)
        last = calm.as_of
        late = [
            {
                "event_id": f"late-{i}",
                "customer_id": cid,
                "occurred_at": (last.replace(microsecond=0)).isoformat(),
                "moment": "delivery",
                "metric": "delivery_days",
                "value": 15.0 + i,
            }
            for i in range(3)
        ]
        assert ingest_records(ws.store, late, "api", ws.config).count("accepted") == 3
        again = js.score_customers(
            js.load_data(ws.store.reader()), model, silo_of, customers=[calm.customer_key]
        )
    assert again[0].risk > calm.risk + 0.05  # three badly late deliveries raise the risk at once
    assert again[0].reasons and again[0].reasons[0].moment == "delivery"
    assert again[0].reasons[0].silo == "delivery"


def test_retraining_is_due_by_the_models_age_only() -> None:
    from gapwatch.insight.retraining import retraining_due

    t0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    assert not retraining_due(t0, t0 + dt.timedelta(days=6.9), 7)
    assert retraining_due(t0, t0 + dt.timedelta(days=7), 7)
    assert not retraining_due(t0, t0 + dt.timedelta(days=400), 0)  # 0: only on request
    assert not retraining_due(None, t0, 7)  # the first model is an explicit step


@pytest.mark.slow
def test_the_schedule_retrains_an_old_model_with_its_own_target(world: Path) -> None:
    from contextlib import contextmanager
    from types import SimpleNamespace

    from gapwatch.insight import risk as risk_svc
    from gapwatch.insight.retraining import Retrainer

    with Workspace.open(world, read_only=True) as ws:

        @contextmanager
        def reader() -> Iterator[object]:
            yield ws.store.reader()

        holder = SimpleNamespace()
        old = js.train(js.load_data(ws.store.reader()), positive="<=6", seed=3)
        old.trained_at -= dt.timedelta(days=10)
        risk_svc.keep_model(None, holder, old)
        retrainer = Retrainer(reader, None, holder)
        assert retrainer.check(14) is None and retrainer.job.state == "none"  # not due yet
        job = retrainer.check(7)
        assert job is not None and job.trigger == "schedule" and job.thread is not None
        assert retrainer.check(7) is job  # one retraining at a time
        job.thread.join(timeout=600)
    assert job.state == "ready", job.error
    new = risk_svc.service_model(None, holder)
    assert new is not None and new is not old and new.trained_at > old.trained_at + dt.timedelta(days=9)
    assert (new.outcome, new.target.positive) == (old.outcome, old.target.positive) == ("nps", "nps <= 6")
    assert retrainer.check(7) is None  # the fresh model is not due


def test_the_target_comes_from_the_workspace_unless_given() -> None:
    from pydantic import ValidationError

    from gapwatch.config.schema import RiskSection
    from gapwatch.insight.retraining import risk_target

    assert risk_target(RiskSection(), None, None) == ("nps", "<=6")
    assert risk_target(RiskSection(positive="<=5"), None, None) == ("nps", "<=5")
    assert risk_target(RiskSection(positive="<=5"), None, "<=4") == ("nps", "<=4")
    assert risk_target(RiskSection(outcome="churn"), None, None) == ("churn", None)  # the rarer class
    assert risk_target(RiskSection(positive="<=5"), "csat", None) == ("csat", None)  # not nps's <=5
    with pytest.raises(ValidationError):
        RiskSection(retrain_every_days=-1)
