"""Benchmark: the lake path on Spark local[N] against DuckDB, and detection over 1M streams on the driver.

    .venv/bin/python bench/spark.py                                   # 10M events, 1M streams x 365
    .venv/bin/python bench/spark.py --events 1000000 --streams 100000 # a quick look

1. Writes an ``orders`` export of ``--events`` rows (the template's mapping: ids, an ISO time, a
   tier label, delivered days, a promised-days expectation) as Parquet, 1M rows a row group.
2. For each engine, in a fresh subprocess: ``ingest --lake`` (map, validate, key the ids, score
   against the expectation in force, dedupe against the lake, write Parquet by period), then
   the stream x period aggregate of ``detect --lake`` (the Ibis expression over the lake).
   Reports wall time, events/s, the lake's bytes per experience, peak RSS of the Python
   process and (Spark) of the JVM, which in local mode is the driver and the executors at once.
   Both engines use the same number of threads (``--cores``); the ratio is Spark / DuckDB time.
3. Detection on the driver: ``--streams`` streams x ``--periods`` days of sufficient statistics,
   in batches of ``--batch`` streams (one limit multiplier for all, as the workspace's budget
   sets it), the same code as ``gapwatch detect`` after the aggregate. Time and peak RSS.
Figures are printed, never asserted; on a shared machine, say so beside them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

OUT = Path(__file__).resolve().parent / "out"
ROW_GROUP = 1_000_000


#: One row in this many is spoiled, each with one fault a careless export has (both engines must
#: reject, or accept, it alike): (column, value) or a copy of an earlier row.
SPOIL_EVERY = 500
_FAULTS: tuple[tuple[str, str], ...] = (
    ("delivery_days", "n/a"),  # bad_value
    ("delivery_days", "0x10"),  # Java reads it, DuckDB does not: refused on both
    ("delivery_days", "-3"),  # a negative duration
    ("delivery_days", "1e400"),  # out of any range
    ("delivery_days", "1_0"),  # DuckDB's digit separator: 10 on both
    ("cust_no", ""),  # missing_customer
    ("cust_no", " c17 "),  # blank-trimmed, case-folded: the same person as C17
    ("order_no", ""),  # missing_event_id
    ("order_no", "X" * 300),  # event_id_too_long
    ("delivered_at", "2025-02-30T10:00:00Z"),  # bad_timestamp
    ("delivered_at", ""),  # missing_timestamp
    ("delivered_at", "2099-01-01T00:00:00Z"),  # occurred_in_future
    ("customer_tier", "GOLD"),  # unmapped_label
    ("promised_days", "soon"),  # bad_expected
    ("promised_days", "-1"),  # expected out of range
)


def _orders(rng: np.random.Generator, start: int, n: int) -> pa.Table:
    ordered = np.datetime64("2025-01-01T00:00:00") + rng.integers(0, 365 * 86400, n).astype("timedelta64[s]")
    days = np.round(rng.gamma(3.0, 1.2, n), 2)
    delivered = ordered + (days * 86400).astype("int64").astype("timedelta64[s]")
    promised = np.where(rng.random(n) < 0.3, rng.integers(2, 7, n).astype(str), "")
    cols: dict[str, np.ndarray[Any, Any]] = {
        "order_no": np.char.add("ORD-", np.arange(start, start + n).astype(str)),
        "cust_no": np.char.add("C", rng.integers(0, max(n // 5, 1), n).astype(str)),
        "delivered_at": np.char.add(np.datetime_as_string(delivered), "Z"),
        "customer_tier": np.array(["STD", "PREM", "B2B"])[rng.choice(3, n, p=[0.7, 0.2, 0.1])],
        "delivery_days": days.astype(str),
        "promised_days": promised,
        "carrier": np.array(["DHL", "UPS", "Post"])[rng.integers(0, 3, n)],
        "region": np.array(["north", "south", "east", "west"])[rng.integers(0, 4, n)],
        "ordered_at": np.datetime_as_string(ordered),
    }
    cols = {k: v.astype(object) for k, v in cols.items()}
    spoiled = np.flatnonzero(rng.random(n) < 1 / SPOIL_EVERY)
    spoiled = spoiled[spoiled > 0]
    kinds = rng.integers(0, len(_FAULTS) + 2, spoiled.size)
    for row, kind in zip(spoiled.tolist(), kinds.tolist(), strict=True):
        if kind < len(_FAULTS):
            column, value = _FAULTS[kind]
            cols[column][row] = value
        else:  # a resent row: the same payload (a duplicate), or the same order number changed (a conflict)
            for column in cols:
                cols[column][row] = cols[column][row - 1]
            if kind == len(_FAULTS) + 1:
                cols["delivery_days"][row] = "99.5"
    return pa.table({k: pa.array(v, pa.string()) for k, v in cols.items()})


def generate(events: int) -> Path:
    path = OUT / f"spark_orders_{events}_spoiled{SPOIL_EVERY}.parquet"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    tmp = path.with_suffix(".part")
    with pq.ParquetWriter(tmp, _orders(rng, 0, 1).schema) as writer:
        for start in range(0, events, ROW_GROUP):
            writer.write_table(_orders(rng, start, min(ROW_GROUP, events - start)), row_group_size=ROW_GROUP)
    tmp.rename(path)
    return path


def _hwm_kib(pid: int) -> int:
    """Peak resident set (VmHWM) of a live process, KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def measure_engine(name: str, data: Path, cores: int) -> dict[str, Any]:
    """One engine, in this (fresh) process: lake ingest, then the aggregate over the lake."""
    from gapwatch.engines import open_engine
    from gapwatch.engines.lake_schema import LAKE_SCHEMAS
    from gapwatch.ingest.lake import ingest_workspace_lake
    from gapwatch.metrics import stream_period_stats
    from gapwatch.monitor.on_engine import detect_lake, signal_digest
    from gapwatch.workspace import Workspace, init_workspace

    root = Path(tempfile.mkdtemp(prefix=f"gapwatch-bench-{name}-", dir=OUT))
    try:
        init_workspace(root / "ws")
        lake = root / "lake"
        options: dict[str, Any] = {"threads": cores} if name == "duckdb" else {"master": f"local[{cores}]"}
        began = time.perf_counter()
        engine = open_engine(name, timezone="UTC", **options)
        started = time.perf_counter() - began
        with Workspace.open(root / "ws") as ws:
            began = time.perf_counter()
            counts = ingest_workspace_lake(ws, engine, lake, data, "orders").counts
            ingest_s = time.perf_counter() - began
            config = ws.config
        began = time.perf_counter()
        engine.load_parquet("experiences", lake / "experiences", LAKE_SCHEMAS["experiences"])
        stats = engine.run_ibis(stream_period_stats(engine.ibis_table("experiences")))
        aggregate_s = time.perf_counter() - began
        engine.drop("experiences")
        # The whole of `gapwatch detect --lake`: the aggregate again, then the driver's detection.
        began = time.perf_counter()
        run = detect_lake(engine, lake, config, clock="event")
        detect_s = time.perf_counter() - began
        pq.write_table(run.aggregate, OUT / f"stats_{name}.parquet")
        jvm = 0
        if name == "spark":
            jvm = _hwm_kib(engine.spark.sparkContext._gateway.proc.pid)  # type: ignore[attr-defined]
        engine.close()
        lake_bytes = sum(p.stat().st_size for p in (lake / "experiences").rglob("*.parquet"))
        return {
            "engine": name,
            "start_s": started,
            "ingest_s": ingest_s,
            "aggregate_s": aggregate_s,
            "detect_s": detect_s,
            "accepted": counts.accepted,
            "rejected": counts.rejected,
            "duplicate": counts.duplicate,
            "reasons": dict(sorted(counts.reasons.items())),
            "events": run.events,
            "stream_periods": stats.num_rows,
            "signals": len(run.result.signals),
            "digest": signal_digest(run.result.signals),
            "bytes_per_experience": lake_bytes / max(counts.accepted, 1),
            "python_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "jvm_rss_mib": jvm / 1024,
        }
    finally:
        shutil.rmtree(root, ignore_errors=True)


def compare_stats(a: Path, b: Path) -> tuple[bool, float]:
    """Same streams and periods, equal counts, and the largest relative difference of the sums."""
    ta, tb = pq.read_table(a), pq.read_table(b)
    if ta.num_rows != tb.num_rows or ta.schema.names != tb.schema.names:
        return False, float("inf")
    same, worst = True, 0.0
    for name in ta.schema.names:
        x, y = ta.column(name), tb.column(name)
        if pa.types.is_floating(x.type):
            u, v = x.to_numpy(zero_copy_only=False), y.to_numpy(zero_copy_only=False)
            scale = np.maximum(np.maximum(np.abs(u), np.abs(v)), 1.0)
            worst = max(worst, float(np.max(np.abs(u - v) / scale, initial=0.0)))
        elif not x.equals(y):
            same = False
    return same and worst < 1e-9, worst


def _synthetic(rng: np.random.Generator, first: int, count: int, periods: int) -> pa.Table:
    """Sufficient statistics of ``count`` streams x ``periods`` days (a stream's key from its number)."""
    stream = np.repeat(np.arange(first, first + count), periods)
    day = np.tile(np.arange(periods), count)
    n = rng.poisson(40, stream.size).astype(np.int64)
    p = 0.05 + 0.1 * ((stream * 7919) % 100) / 100
    missed = rng.binomial(n, p)
    exceeded = rng.binomial(n - missed, 0.2)
    mean = np.where(n > 0, 0.3 - 2 * p, 0.0)
    s1 = mean * n + rng.standard_normal(stream.size) * np.sqrt(np.maximum(n, 1)) * 0.5
    s2 = s1 * s1 / np.maximum(n, 1) + 0.25 * n
    start = np.datetime64("2025-01-01", "D")
    return pa.table(
        {
            "moment": _labels("m", stream // 50),
            "segment": _labels("s", stream % 50),
            "metric": _labels("x", np.zeros(stream.size, dtype=np.int64)),
            "period": pa.array(start + day.astype("timedelta64[D]")),
            "n": n,
            "n_gap": n,  # every experience has a gap (no open promise in this set)
            "missed": missed.astype(np.int64),
            "exceeded": exceeded.astype(np.int64),
            "sum_gap_norm": s1,
            "sum_gap_norm2": s2,
            "sum_value": 10 * n - s1,
            "sum_value2": 100.0 * n - 20 * s1 + s2,
        }
    )


def _labels(prefix: str, codes: np.ndarray[Any, Any]) -> pa.Array:
    """Strings ``prefix + code`` built from the distinct codes only (millions of rows stay cheap)."""
    uniq, index = np.unique(codes, return_inverse=True)
    names = pa.array([f"{prefix}{u}" for u in uniq.tolist()])
    return pa.DictionaryArray.from_arrays(pa.array(index.astype(np.int32)), names).cast(pa.string())


def measure_detect(streams: int, periods: int, batch: int) -> dict[str, Any]:
    """Detection over ``streams`` in batches of whole moments (a moment's segments stay together)."""
    from gapwatch.config.schema import DetectionSection
    from gapwatch.monitor.run import detect_streams

    detection = DetectionSection()
    rng = np.random.default_rng(3)
    closed = dt.date(2025, 1, 1) + dt.timedelta(days=periods - 2)
    batch = max(50, batch - batch % 50)
    # One L for all streams, as the budget sets it for the whole workspace: the first batch's L
    # for its share of the weekly false alarms.
    first = _synthetic(rng, 0, min(batch, streams), periods)
    share = detection.model_copy(
        update={"false_alarms_per_week": detection.false_alarms_per_week * min(batch, streams) / streams}
    )
    L = detect_streams(first, share, closed=closed).L
    del first
    seconds = cpu = 0.0
    signals = views = 0
    for lo in range(0, streams, batch):
        table = _synthetic(rng, lo, min(batch, streams - lo), periods)  # (not timed: the engine's part)
        began, began_cpu = time.perf_counter(), time.process_time()
        result = detect_streams(table, detection, closed=closed, L=L)
        seconds += time.perf_counter() - began
        cpu += time.process_time() - began_cpu
        signals += len(result.signals)
        views += len(result.streams)
        del table, result
    return {
        "streams": streams,
        "views": views,
        "periods": periods,
        "batch": batch,
        "L": L,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "signals": signals,
        "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _child(*args: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    if out.returncode != 0:  # the measuring child's own error, not only its exit status
        log = OUT / "spark-child.log"
        log.write_text(out.stderr)
        sys.exit(f"bench/spark.py {' '.join(args)} failed (whole error in {log}):\n{out.stderr[-3000:]}")
    found: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--streams", type=int, default=1_000_000)
    parser.add_argument("--periods", type=int, default=365)
    parser.add_argument("--batch", type=int, default=20_000)
    parser.add_argument("--skip", choices=["engines", "detect"], action="append", default=[])
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure == "detect":
        print(json.dumps(measure_detect(args.streams, args.periods, args.batch)))
        return
    if args.measure:
        print(json.dumps(measure_engine(args.measure, args.data, args.cores)))
        return
    if "engines" not in args.skip:
        data = generate(args.events)
        runs = {
            e: _child("--measure", e, "--data", str(data), "--cores", str(args.cores))
            for e in ("duckdb", "spark")
        }
        print(f"{args.events:,} orders events, ingest into a lake + aggregate, {args.cores} cores each")
        print(
            f"{'engine':8} {'start s':>8} {'ingest s':>9} {'agg s':>7} {'detect s':>9} "
            f"{'events/s':>10} {'B/exp':>6} "
            f"{'py RSS MiB':>10} {'JVM RSS MiB':>11}"
        )
        for e, r in runs.items():
            rate = r["accepted"] / (r["ingest_s"] + r["aggregate_s"])
            print(
                f"{e:8} {r['start_s']:8.1f} {r['ingest_s']:9.1f} {r['aggregate_s']:7.1f} "
                f"{r['detect_s']:9.1f} "
                f"{rate:10,.0f} "
                f"{r['bytes_per_experience']:6.1f} {r['python_rss_mib']:10.0f} {r['jvm_rss_mib']:11.0f}"
            )
        d, s = runs["duckdb"], runs["spark"]
        keys = ["accepted", "rejected", "duplicate", "reasons", "events", "stream_periods", "signals"]
        keys.append("digest")
        differ = [k for k in keys if d[k] != s[k]]
        same_stats, worst = compare_stats(OUT / "stats_duckdb.parquet", OUT / "stats_spark.parquet")
        print(f"rejects by reason (both): {d['reasons']}" if not differ else f"DIFFER: {differ}")
        print(
            f"digest {d['digest'][:16]}… on DuckDB, {s['digest'][:16]}… on Spark; {d['signals']:,} signals; "
            f"stream statistics equal: {same_stats} (largest relative difference of a sum {worst:.1e})"
        )
        ratio = (s["ingest_s"] + s["aggregate_s"]) / (d["ingest_s"] + d["aggregate_s"])
        print(f"ratio Spark / DuckDB time (ingest + aggregate): {ratio:.2f}")
        print(json.dumps({"engines": runs, "ratio": ratio}))
    if "detect" not in args.skip:
        r = _child(
            "--measure",
            "detect",
            "--streams",
            str(args.streams),
            "--periods",
            str(args.periods),
            "--batch",
            str(args.batch),
        )
        print(
            f"detection on the driver: {r['streams']:,} streams ({r['views']:,} with parents) "
            f"x {r['periods']} days in batches of {r['batch']:,}: {r['seconds']:.1f} s "
            f"({r['cpu_seconds']:.1f} s CPU), "
            f"peak RSS {r['rss_mib']:.0f} MiB, "
            f"{r['signals']:,} signals (L = {r['L']:.2f})"
        )
        print(json.dumps({"detect": r}))


if __name__ == "__main__":
    main()
