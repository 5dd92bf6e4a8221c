"""Benchmark: gapwatch's aggregate + detect against DuckDB's bare aggregation of the same Parquet file.

    .venv/bin/python bench/pipeline.py                    # 10M events timing, then 50M peak RSS
    .venv/bin/python bench/pipeline.py --events 1000000 --big 0   # quick look

1. Writes N events over 1,000 streams x 365 days to Parquet in chunks (never all rows in memory).
2. Times DuckDB's bare per-stream-per-day aggregation (GROUP BY stream, day: count, sum, sum of
   squares) and gapwatch's (the Ibis expression run by DuckDB, then detection over every stream)
   on that file, in the same process, best of ``--repeat`` alternating runs each.
3. In a fresh subprocess, runs gapwatch's aggregate + detect on ``--big`` events and reports its
   peak RSS (``resource.getrusage``), with DuckDB's memory_limit and threads set.
Goals (issue 3): within 1.5x of the bare aggregation; under 1 GiB at 50M events.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

OUT = Path(__file__).resolve().parent / "out"
DAYS, MOMENTS, SEGMENTS = 365, 200, ("standard", "premium", "business", "public", "partner")
START = dt.date(2025, 1, 1)
CHUNK = 1_000_000
MEMORY_LIMIT, THREADS = "512MB", 2

BARE_SQL = """
SELECT moment, segment, metric, period, count(*) AS n, sum(value) AS s, sum(value * value) AS ss
FROM read_parquet(?) GROUP BY ALL
"""


def _chunk(rng: np.random.Generator, size: int) -> pa.Table:
    """``size`` events: 1,000 streams (200 moments x 5 segments), uniform days, a miss rate per stream."""
    stream = rng.integers(0, MOMENTS * len(SEGMENTS), size)
    day = rng.integers(0, DAYS, size)
    p0 = 0.05 + 0.1 * ((stream * 7919) % 100) / 100
    missed = rng.random(size) < p0
    gap = np.where(missed, -rng.exponential(0.5, size), rng.random(size) * 1.2)
    status = np.where(missed, -1, np.where(gap > 1.0, 1, 0)).astype(np.int8)
    moments = pa.array([f"moment_{i:03d}" for i in range(MOMENTS)])
    return pa.table(
        {
            "moment": pa.DictionaryArray.from_arrays(pa.array(stream // len(SEGMENTS), pa.int32()), moments),
            "segment": pa.DictionaryArray.from_arrays(
                pa.array(stream % len(SEGMENTS), pa.int32()), pa.array(SEGMENTS)
            ),
            "metric": pa.DictionaryArray.from_arrays(
                pa.array(np.zeros(size, np.int32)), pa.array(["wait_hours"])
            ),
            "period": pa.array(np.datetime64(START, "D") + day.astype("timedelta64[D]")),
            "occurred_at": pa.array(
                np.datetime64(START, "s") + (day * 86400 + 43200).astype("timedelta64[s]")
            ).cast(pa.timestamp("us", tz="UTC")),
            "status": pa.array(status),
            "gap_norm": pa.array(gap),
            "value": pa.array(10.0 - 4.0 * gap),
        }
    )


def generate(path: Path, events: int, seed: int = 1) -> None:
    """Write ``events`` rows to ``path`` chunk by chunk (bounded memory)."""
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer: pq.ParquetWriter | None = None
    try:
        for start in range(0, events, CHUNK):
            table = _chunk(rng, min(CHUNK, events - start))
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema, compression="snappy")
            writer.write_table(table, row_group_size=CHUNK)
    finally:
        if writer is not None:
            writer.close()


def _connect() -> Any:
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    con.execute(f"SET threads = {THREADS}")
    return con


def bare(con: Any, path: Path) -> int:
    """DuckDB's own per-stream-per-day count, sum and sum of squares."""
    return int(con.execute(BARE_SQL, [str(path)]).to_arrow_table().num_rows)


def gapwatch(con: Any, path: Path) -> tuple[int, int]:
    """gapwatch's aggregate (Ibis expression, run by DuckDB) then detection over all streams."""
    from gapwatch.config.schema import DetectionSection
    from gapwatch.monitor.run import aggregate, detect_streams

    con.execute(f"CREATE OR REPLACE VIEW experiences AS SELECT * FROM read_parquet('{path}')")
    table = aggregate(con)
    closed = START + dt.timedelta(days=DAYS - 2)
    result = detect_streams(table, DetectionSection(), closed=closed)
    return table.num_rows, len(result.signals)


def _timed(fn: Any) -> tuple[float, Any]:
    began = time.perf_counter()
    out = fn()
    return time.perf_counter() - began, out


def _best_interleaved(a: Any, b: Any, repeat: int) -> tuple[float, Any, float, Any]:
    """Best of ``repeat`` for each, alternating runs so that load on the machine hits both alike."""
    ta, tb, out_a, out_b = [], [], None, None
    for _ in range(repeat):
        t, out_a = _timed(a)
        ta.append(t)
        t, out_b = _timed(b)
        tb.append(t)
    return min(ta), out_a, min(tb), out_b


def timing(events: int, repeat: int) -> dict[str, Any]:
    path = OUT / f"events_{events}.parquet"
    began = time.perf_counter()
    if not path.exists():
        generate(path, events)
    gen = time.perf_counter() - began
    con = _connect()
    bare(con, path)  # warm the file cache for both
    t_bare, groups, t_gw, (rows, signals) = _best_interleaved(
        lambda: bare(con, path), lambda: gapwatch(con, path), repeat
    )
    return {
        "events": events,
        "generate_s": round(gen, 2),
        "bare_s": round(t_bare, 3),
        "groups": groups,
        "gapwatch_s": round(t_gw, 3),
        "aggregate_rows": rows,
        "signals": signals,
        "ratio": round(t_gw / t_bare, 2),
    }


def peak_rss(events: int) -> dict[str, Any]:
    """Generate in one subprocess, measure aggregate + detect in another (its own peak RSS)."""
    path = OUT / f"events_{events}.parquet"
    if not path.exists():
        subprocess.run([sys.executable, __file__, "--generate", str(events)], check=True)
    out = subprocess.run(
        [sys.executable, __file__, "--measure", str(path)], check=True, capture_output=True, text=True
    ).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def _measure(path: Path) -> None:
    began = time.perf_counter()
    rows, signals = gapwatch(_connect(), path)
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    seconds = round(time.perf_counter() - began, 2)
    print(
        json.dumps(
            {
                "events": pq.ParquetFile(path).metadata.num_rows,
                "seconds": seconds,
                "peak_rss_mib": round(rss_kib / 1024, 1),
                "aggregate_rows": rows,
                "signals": signals,
                "memory_limit": MEMORY_LIMIT,
                "threads": THREADS,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--big", type=int, default=50_000_000, help="events for the peak-RSS run (0: skip)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--generate", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        generate(OUT / f"events_{args.generate}.parquet", args.generate)
        return
    if args.measure:
        _measure(args.measure)
        return
    t = timing(args.events, args.repeat)
    print(f"{t['events']:,} events, {t['groups']:,} stream-days (generated in {t['generate_s']} s)")
    print(f"  DuckDB bare GROUP BY stream, day    {t['bare_s']:.3f} s")
    print(f"  gapwatch aggregate (Ibis) + detect  {t['gapwatch_s']:.3f} s   ({t['signals']} signals)")
    print(f"  ratio {t['ratio']:.2f}x   (goal: within 1.5x)")
    if args.big:
        m = peak_rss(args.big)
        print(
            f"{m['events']:,} events: aggregate + detect in {m['seconds']} s, "
            f"peak RSS {m['peak_rss_mib']} MiB   (goal: under 1024 MiB; "
            f"DuckDB memory_limit {m['memory_limit']}, threads {m['threads']})"
        )


if __name__ == "__main__":
    main()
