"""The stream aggregate, written once in Ibis: DuckDB results against a plain-Python oracle,
and compiled SQL per dialect against snapshots (no database needed to compile)."""

from __future__ import annotations

import datetime as dt
import os
from collections import defaultdict
from pathlib import Path

import ibis
import ibis.config
import pytest
from monitor_world import START, experiences, store, survey

from gapwatch.metrics import (
    ROBUST_GAP_STATS,
    experiences_table,
    nps_weekly,
    outcomes_table,
    rollup,
    stream_period_stats,
)

pytestmark = pytest.mark.filterwarnings("ignore:fetch_arrow_table:DeprecationWarning")
SNAPSHOTS = Path(__file__).resolve().parents[1] / "snapshots" / "metrics"
ROBUST = [a.name for a in ROBUST_GAP_STATS]
STREAMS = {
    ("delivery", "premium", "delivery_days"): (12.0, lambda d: 0.2),
    ("delivery", "standard", "delivery_days"): (20.0, lambda d: 0.1),
    ("checkout", "all", "page_load_seconds"): (5.0, lambda d: 0.3),
}


def _oracle(rows: list[dict[str, object]]) -> dict[tuple[object, ...], dict[str, float]]:
    out: dict[tuple[object, ...], dict[str, float]] = defaultdict(lambda: dict.fromkeys(ROBUST, 0.0))
    for r in rows:
        if r["status"] is None:
            continue
        acc = out[(r["moment"], r["segment"], r["metric"], r["period"])]
        acc["n"] += 1
        acc["missed"] += r["status"] == -1
        acc["exceeded"] += r["status"] == 1
        if r["gap_norm"] is None:  # an open promise past its due time: missed, no gap yet
            continue
        g, v = float(r["gap_norm"]), float(r["value"])  # type: ignore[arg-type]
        acc["n_gap"] += 1
        acc["sum_gap_norm"] += g
        acc["sum_gap_norm2"] += g * g
        c = min(max(g, -3.0), 3.0)
        acc["sum_gap_clip"] += c
        acc["sum_gap_clip2"] += c * c
        acc["sum_value"] += v
        acc["sum_value2"] += v * v
    return out


def test_duckdb_aggregate_matches_plain_python() -> None:
    events = experiences(STREAMS, days=10)
    con = store(events)
    con.execute("UPDATE experiences SET status = NULL WHERE event_id IN ('1', '2', '3')")  # unscored
    con.execute("UPDATE experiences SET gap_norm = -7.5 WHERE event_id IN ('4', '5')")  # a heavy tail
    con.execute(  # open promises past their due time
        "UPDATE experiences SET status = -1, value = NULL, gap = NULL, gap_norm = NULL"
        " WHERE event_id IN ('6', '7')"
    )
    backend = ibis.duckdb.from_connection(con)
    got = stream_period_stats(backend.table("experiences"), stats=ROBUST_GAP_STATS).to_pyarrow().to_pylist()
    rows = con.execute("SELECT moment, segment, metric, period, status, gap_norm, value FROM experiences")
    names = [d[0] for d in rows.description]
    expected = _oracle([dict(zip(names, r, strict=True)) for r in rows.fetchall()])
    assert len(got) == len(expected) == 3 * 10
    for row in got:
        want = expected[(row["moment"], row["segment"], row["metric"], row["period"])]
        for col in ROBUST:
            assert row[col] == pytest.approx(want[col], rel=1e-12, abs=1e-12), col


def test_rollup_sums_segments_into_the_moment() -> None:
    con = store(experiences(STREAMS, days=5))
    backend = ibis.duckdb.from_connection(con)
    stats = stream_period_stats(backend.table("experiences"))
    parents = rollup(stats).to_pyarrow().to_pylist()
    delivery = [r for r in parents if r["moment"] == "delivery"]
    assert {r["segment"] for r in parents} == {"*"}
    assert len(delivery) == 5
    total = con.execute("SELECT count(*) FROM experiences WHERE moment = 'delivery'").fetchone()
    assert total is not None
    assert sum(r["n"] for r in delivery) == total[0]


def test_nps_weekly_counts_promoters_and_detractors() -> None:
    con = store(experiences(STREAMS, days=1), survey(weeks=2, per_week=40))
    backend = ibis.duckdb.from_connection(con)
    rows = nps_weekly(backend.table("outcomes")).order_by("week").to_pyarrow().to_pylist()
    answers = con.execute("SELECT period, value FROM outcomes").fetchall()
    assert [r["week"] for r in rows] == [START, START + dt.timedelta(days=7)]
    for r in rows:
        week = [v for p, v in answers if r["week"] <= p < r["week"] + dt.timedelta(days=7)]
        assert (r["n"], r["promoters"], r["detractors"]) == (
            len(week),
            sum(v >= 9 for v in week),
            sum(v <= 6 for v in week),
        )


@pytest.fixture
def pyspark_options() -> object:
    """Compiling for Spark needs the backend's options object, registered when PySpark loads."""

    class Options(ibis.config.Config):
        treat_nan_as_null: bool = False

    saved = ibis.options.pyspark
    if saved is None:
        ibis.options.pyspark = Options()
    yield
    ibis.options.pyspark = saved


EXPRESSIONS = {
    "stream_period_stats": lambda: stream_period_stats(experiences_table()),
    "rollup": lambda: rollup(stream_period_stats(experiences_table())),
    "robust_stream_period_stats": lambda: stream_period_stats(experiences_table(), stats=ROBUST_GAP_STATS),
    "nps_weekly": lambda: nps_weekly(outcomes_table()),
}


@pytest.mark.usefixtures("pyspark_options")
@pytest.mark.parametrize("dialect", ["duckdb", "postgres", "pyspark"])
@pytest.mark.parametrize("name", sorted(EXPRESSIONS))
def test_compiled_sql_matches_snapshot(name: str, dialect: str) -> None:
    sql = str(ibis.to_sql(EXPRESSIONS[name](), dialect=dialect)).strip() + "\n"
    path = SNAPSHOTS / f"{name}.{dialect}.sql"
    if os.environ.get("GAPWATCH_UPDATE_SNAPSHOTS"):
        path.write_text(sql, encoding="utf-8")
    assert path.exists(), f"no snapshot {path.name}: run with GAPWATCH_UPDATE_SNAPSHOTS=1"
    assert sql == path.read_text(encoding="utf-8")
