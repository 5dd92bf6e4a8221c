"""Small synthetic worlds for the metrics, monitor and NPS tests (not a test module).

Builds the store's ``experiences`` and ``outcomes`` tables (as the store and ingest
engineers define them) in an in-memory DuckDB, from seeded per-stream daily draws.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import duckdb
import numpy as np
import pyarrow as pa

START = dt.date(2026, 1, 5)  # a Monday

EXPERIENCES_DDL = """
CREATE TABLE experiences (
  source VARCHAR, event_id VARCHAR, customer_key VARCHAR, anonymous_key VARCHAR,
  occurred_at TIMESTAMPTZ, period DATE, moment VARCHAR, stage VARCHAR, silo VARCHAR,
  segment VARCHAR, metric VARCHAR, value DOUBLE, expected DOUBLE, expectation_id INTEGER,
  adequate DOUBLE, desired DOUBLE, gap DOUBLE, gap_norm DOUBLE, status TINYINT, text VARCHAR,
  attributes JSON, payload_hash UBIGINT, ingested_at TIMESTAMPTZ, late BOOLEAN)
"""
OUTCOMES_DDL = """
CREATE TABLE outcomes (source VARCHAR, event_id VARCHAR, customer_key VARCHAR,
  occurred_at TIMESTAMPTZ, period DATE, outcome VARCHAR, value DOUBLE)
"""

Stream = tuple[str, str, str]
MissRate = Callable[[int], float]  # day index -> miss probability


def experiences(streams: dict[Stream, tuple[float, MissRate]], days: int, seed: int = 7) -> pa.Table:
    """Events per stream: Poisson(volume) a day, each missed with the stream's daily probability.

    A missed event's normalised gap is uniform in (-1, 0), a met one's in (0, 1).
    """
    rng = np.random.default_rng(seed)
    cols: dict[str, list[object]] = {
        k: [] for k in ("moment", "segment", "metric", "period", "occurred_at", "status", "gap_norm", "value")
    }
    for (moment, segment, metric), (volume, miss) in streams.items():
        for d in range(days):
            day = START + dt.timedelta(days=d)
            n = int(rng.poisson(volume))
            missed = rng.random(n) < miss(d)
            gaps = np.where(missed, -rng.random(n), rng.random(n))
            for k in range(n):
                cols["moment"].append(moment)
                cols["segment"].append(segment)
                cols["metric"].append(metric)
                cols["period"].append(day)
                at = dt.datetime(day.year, day.month, day.day, 9 + k % 12, tzinfo=dt.UTC)
                cols["occurred_at"].append(at)
                cols["status"].append(-1 if missed[k] else (1 if gaps[k] > 0.9 else 0))
                cols["gap_norm"].append(float(gaps[k]))
                cols["value"].append(float(10 + 5 * gaps[k]))
    return pa.table(cols)


def store(events: pa.Table, answers: pa.Table | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory store holding ``events`` (and survey ``answers``: customer, day, score)."""
    con = duckdb.connect()
    con.execute(EXPERIENCES_DDL)
    con.execute(OUTCOMES_DDL)
    con.register("ev", events)
    con.execute("""INSERT INTO experiences (event_id, occurred_at, period, moment, segment, metric, value,
                   gap_norm, status)
                   SELECT row_number() OVER ()::VARCHAR, occurred_at, period, moment, segment, metric, value,
                   gap_norm, status FROM ev""")
    con.unregister("ev")
    if answers is not None:
        con.register("ans", answers)
        con.execute("""INSERT INTO outcomes SELECT 'survey', customer || ':' || day, customer,
                       day::TIMESTAMPTZ, day, 'nps', score FROM ans""")
        con.unregister("ans")
    return con


def survey(weeks: int, per_week: int, drop_from_week: int | None = None, seed: int = 3) -> pa.Table:
    """Survey answers: scores 0–10, worse after ``drop_from_week``."""
    rng = np.random.default_rng(seed)
    rows: dict[str, list[object]] = {"customer": [], "day": [], "score": []}
    for w in range(weeks):
        bad = drop_from_week is not None and w >= drop_from_week
        # shares of detractors, passives, promoters
        probs = np.array([0.25, 0.25, 0.5]) if bad else np.array([0.1, 0.3, 0.6])
        for k in range(per_week):
            kind = rng.choice(3, p=probs)
            score = int(rng.integers(0, 7)) if kind == 0 else (int(rng.integers(7, 9)) if kind == 1 else 10)
            rows["customer"].append(f"c{w}-{k}")
            rows["day"].append(START + dt.timedelta(days=7 * w + k % 7))
            rows["score"].append(float(score))
    return pa.table(rows)
