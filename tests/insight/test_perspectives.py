"""Perspectives: perception survey ingest (validation, rejects, dedupe) and the gaps it reports."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import ttest_ind

from gapwatch.adapters.duckdb_store import DuckDBStore
from gapwatch.config import default_config
from gapwatch.insight.perspectives import PerceptionRows, perception_gaps, welch_interval
from gapwatch.insight.perspectives_service import ingest_perceptions, perspectives_report
from gapwatch.simulate import simulate
from gapwatch.simulate.tables import people_ids
from gapwatch.simulate.writers import perception_truth, perceptions

HEADER = "respondent_id,perspective,silo,dimension,item,kind,score,answered_at\n"
NOW = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)


def test_welch_matches_scipy() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(5, 1, 7), rng.normal(4, 2, 40)
    est, low, high, _ = welch_interval(a, b)
    ci = ttest_ind(a, b, equal_var=False).confidence_interval()
    assert est == pytest.approx(a.mean() - b.mean())
    assert (low, high) == pytest.approx((ci.low, ci.high))


def test_rejects_keep_their_reason_and_duplicates_are_counted(tmp_path: Path) -> None:
    rows = [
        "C-1,customer,all,reliability,r1,P,5,2025-01-10T10:00:00",
        "C-1,customer,all,reliability,r1,E,6,2025-01-10T10:00:00",
        "L-1,leader,delivery,reliability,r1,P,7,2025-01-12",
        ",customer,all,reliability,r1,P,5,2025-01-10",  # no respondent
        "C-2,manager,all,reliability,r1,P,5,2025-01-10",  # unknown perspective
        "C-2,customer,warehouse,reliability,r1,P,5,2025-01-10",  # unknown silo
        "C-2,customer,all,speed,r1,P,5,2025-01-10",  # unknown dimension
        "C-2,customer,all,reliability,r1,X,5,2025-01-10",  # bad kind
        "C-2,customer,all,reliability,r1,P,five,2025-01-10",  # not a number
        "C-2,customer,all,reliability,r1,P,9,2025-01-10",  # off the 1-7 scale
        "C-2,customer,all,reliability,r1,P,5,yesterday",  # bad time
        "C-2,customer,all,reliability,r1,P,5,2031-01-01",  # in the future
        "C-1,customer,all,reliability,r1,P,5,2025-01-10T10:00:00",  # duplicate within the file
    ]
    path = tmp_path / "p.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    store = DuckDBStore()
    config = default_config()
    counts = ingest_perceptions(store, config, path, now=NOW)
    assert (counts.accepted, counts.duplicate, counts.rejected) == (3, 1, 9)
    assert counts.reasons == {
        "missing_respondent_id": 1,
        "unknown_perspective": 1,
        "unknown_silo": 1,
        "unknown_dimension": 1,
        "bad_kind": 1,
        "bad_score": 1,
        "score_out_of_scale": 1,
        "bad_timestamp": 1,
        "timestamp_out_of_window": 1,
    }
    stored = store.reader().execute("SELECT reason_code, raw FROM rejected ORDER BY row_number").fetchall()
    assert len(stored) == 9 and json.loads(stored[1][1])["perspective"] == "manager"
    # the same file again: all duplicates; a changed score is a conflict, kept as a rejected row
    again = ingest_perceptions(store, config, path, now=NOW)
    assert (again.accepted, again.duplicate) == (0, 4)
    path.write_text(HEADER + rows[0].replace(",5,", ",3,") + "\n", encoding="utf-8")
    changed = ingest_perceptions(store, config, path, now=NOW)
    assert changed.reasons == {"conflict": 1}
    # respondent ids are stored pseudonymised
    keys = {
        r[0] for r in store.reader().execute("SELECT respondent_key FROM perception_responses").fetchall()
    }
    assert "C-1" not in keys and store.pseudonym("C-1") in keys
    store.close()


def test_a_file_without_the_columns_is_unusable(tmp_path: Path) -> None:
    from gapwatch.insight.tables import TableError

    path = tmp_path / "p.csv"
    path.write_text("who,score\nx,1\n", encoding="utf-8")
    with pytest.raises(TableError, match="lacks column"):
        ingest_perceptions(DuckDBStore(), default_config(), path, now=NOW)


def _rows(per_period: dict[str, tuple[float, float]], rng: np.random.Generator) -> PerceptionRows:
    """Customers around ``c``, leaders around ``l`` per period; 60 customers, 12 leaders."""
    resp, persp, silo, dim, kind, score, period = [], [], [], [], [], [], []
    for per, (c, lead) in per_period.items():
        for who, n, centre in (("customer", 60, c), ("leader", 12, lead)):
            for i in range(n):
                for _item in range(3):
                    resp.append(f"{who}{i}")
                    persp.append(who)
                    silo.append("all" if who == "customer" else "delivery")
                    dim.append("reliability")
                    kind.append("P")
                    score.append(centre + rng.normal(0, 0.8))
                    period.append(per)
    return PerceptionRows(resp, persp, silo, dim, kind, np.asarray(score), period)


def test_significant_and_widening_flags() -> None:
    rows = _rows(
        {"2025-Q1": (5.0, 5.05), "2025-Q2": (5.0, 5.6), "2025-Q3": (5.0, 6.6), "2025-Q4": (5.0, 6.5)},
        np.random.default_rng(1),
    )
    _, gaps = perception_gaps(rows)
    lc = {
        g.period: g
        for g in gaps
        if g.gap == "leader-customer" and g.silo == "delivery" and g.dimension == "reliability"
    }
    assert not lc["2025-Q1"].significant
    assert lc["2025-Q2"].significant
    assert lc["2025-Q3"].significant and lc["2025-Q3"].widening
    assert lc["2025-Q4"].significant and not lc["2025-Q4"].widening  # still wide, not wider


def test_simulated_leader_optimism_is_recovered(tmp_path: Path) -> None:
    world = simulate(customers=4000, days=180, seed=11, incidents=1)
    table = perceptions(world, people_ids(world).customer)
    truth = perception_truth()
    store = DuckDBStore()
    config = default_config()
    path = tmp_path / "perceptions.csv"
    import pyarrow.csv as pcsv

    pcsv.write_csv(table, path)
    counts = ingest_perceptions(store, config, path, now=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    assert counts.rejected == 0 and counts.accepted == table.num_rows
    report = perspectives_report(store.reader(), config, pooled=True)
    overall = {g.gap: g for g in report.gaps if g.silo == "all" and g.dimension == "all"}
    for name, bias in (
        ("leader-customer", truth["leader_bias"]),
        ("employee-customer", truth["employee_bias"]),
    ):
        g = overall[name]
        assert g.low is not None and g.high is not None
        assert g.low - 0.05 <= bias <= g.high + 0.05, (name, g)
        assert g.significant
    # customers expect more than they get (the simulated P - E is negative)
    assert overall["P-E customer"].estimate < 0 and overall["P-E customer"].significant
    store.close()
