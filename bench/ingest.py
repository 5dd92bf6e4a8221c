"""Benchmark: `gapwatch ingest` against DuckDB's bare `read_csv` + insert of the same file.

    .venv/bin/python bench/ingest.py                          # 1M rows: events/s of both and the ratio
    .venv/bin/python bench/ingest.py --rows 10000000 --memory  # peak RSS of ingesting 10M rows

The file is an `orders` export (the default mapping's columns), generated with a fixed
seed in bench/out/ unless --file names one (e.g. `gapwatch simulate` output). Both sides run
in the same process on fresh stores in the same folder, alternated `--repeat` times, so the
machine's load affects both alike; best and median wall time and the median CPU time (all
threads) are printed for both. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv

OUT = Path(__file__).resolve().parent / "out"
BATCH = 500_000


def _batch(rng: np.random.Generator, start: int, n: int, customers: int) -> pa.Table:
    ordered = np.datetime64("2025-01-01T00:00:00") + rng.integers(0, 365 * 86400, n).astype("timedelta64[s]")
    days = np.round(rng.gamma(3.0, 1.2, n), 1)
    delivered = ordered + (days * 86400).astype("int64").astype("timedelta64[s]")
    promised = np.where(rng.random(n) < 0.3, rng.integers(2, 7, n).astype(str), "")
    return pa.table(
        {
            "order_no": np.char.add("ORD-", np.arange(start, start + n).astype(str)),
            "cust_no": np.char.add("C", rng.integers(0, customers, n).astype(str)),
            "delivered_at": np.datetime_as_string(delivered),
            "customer_tier": np.array(["STD", "PREM", "B2B"])[rng.choice(3, n, p=[0.7, 0.2, 0.1])],
            "delivery_days": days,
            "promised_days": promised,
            "carrier": np.array(["DHL", "UPS", "Post"])[rng.integers(0, 3, n)],
            "region": np.array(["north", "south", "east", "west"])[rng.integers(0, 4, n)],
            "ordered_at": np.datetime_as_string(ordered),
        }
    )


def generate(rows: int, path: Path, seed: int = 7) -> Path:
    """Write an `orders` CSV of ``rows`` rows (one customer per five orders), in batches."""
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    tmp = path.with_suffix(".part")
    writer = None
    for start in range(0, rows, BATCH):
        table = _batch(rng, start, min(BATCH, rows - start), max(rows // 5, 1))
        writer = writer or pcsv.CSVWriter(str(tmp), table.schema)
        writer.write_table(table)
    if writer is not None:
        writer.close()
    tmp.rename(path)
    return path


def time_gapwatch(file: Path, folder: Path, chunk_rows: int) -> tuple[float, float, int]:
    """Wall and CPU seconds (all threads) to ingest ``file`` into a fresh workspace; experiences accepted."""
    from gapwatch.ingest.files import ingest_file
    from gapwatch.workspace import Workspace, init_workspace

    init_workspace(folder, force=True)
    with Workspace.open(folder) as ws:
        started, cpu = time.perf_counter(), time.process_time()
        result = ingest_file(ws, file, "orders", chunk_rows=chunk_rows)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return seconds, cpu, result.accepted


def time_duckdb(file: Path, folder: Path) -> tuple[float, float, int]:
    """Wall and CPU seconds of DuckDB's own `read_csv` (types inferred) into a table of a fresh file; rows."""
    db = folder / "bare.duckdb"
    db.unlink(missing_ok=True)
    con = duckdb.connect(str(db))
    started, cpu = time.perf_counter(), time.process_time()
    con.execute(f"CREATE TABLE orders AS SELECT * FROM read_csv('{file}')")
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    rows = con.execute("SELECT count(*) FROM orders").fetchall()[0][0]
    con.close()
    return seconds, cpu, int(rows)


def speed(args: argparse.Namespace, file: Path) -> None:
    """Alternate the two sides ``--repeat`` times (the machine's load hits both alike)."""
    bare: list[tuple[float, float]] = []
    ours: list[tuple[float, float]] = []
    bare_n = ours_n = 0
    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        for i in range(args.repeat):
            sides = [("bare", bare), ("ours", ours)]
            for name, runs in sides if i % 2 == 0 else sides[::-1]:
                if name == "bare":
                    wall, cpu, bare_n = time_duckdb(file, Path(tmp))
                else:
                    wall, cpu, ours_n = time_gapwatch(file, Path(tmp) / "ws", args.chunk_rows)
                runs.append((wall, cpu))
    print(
        f"file: {file} ({file.stat().st_size / 1e6:.0f} MB, {bare_n:,} rows); cpus: {os.cpu_count()}; "
        f"runs: {args.repeat} of each, alternated; load average: {os.getloadavg()[0]:.1f}"
    )
    head = f"{'best s':>7} {'median s':>9} {'best rows/s':>12} {'median rows/s':>14} {'CPU s (median)':>15}"
    print(f"{'':26} {head}")
    for label, runs, n in (("duckdb read_csv + insert", bare, bare_n), ("gapwatch ingest", ours, ours_n)):
        walls = [r[0] for r in runs]
        best, med = min(walls), statistics.median(walls)
        cpu = statistics.median(r[1] for r in runs)
        print(f"{label:26} {best:7.2f} {med:9.2f} {n / best:12,.0f} {n / med:14,.0f} {cpu:15.2f}")
    best = (ours_n / min(r[0] for r in ours)) / (bare_n / min(r[0] for r in bare))
    med = (ours_n / statistics.median(r[0] for r in ours)) / (bare_n / statistics.median(r[0] for r in bare))
    cpu = statistics.median(r[1] for r in bare) / statistics.median(r[1] for r in ours)
    print(f"ratio (gapwatch / duckdb events/s): best {best:.2f}, median {med:.2f}, by CPU time {cpu:.2f}")
    print("(goal: >= 0.5)")


def memory(args: argparse.Namespace, file: Path) -> None:
    """Ingest in a child process and report its peak resident set."""
    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        here, ws = str(Path(__file__).parent), str(Path(tmp) / "ws")
        code = (
            f"import sys; from pathlib import Path; sys.path.insert(0, {here!r}); import ingest as b; "
            f"s, _, n = b.time_gapwatch(Path({str(file)!r}), Path({ws!r}), {args.chunk_rows}); "
            "print(f'{n} {s:.2f}')"
        )
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    accepted, seconds = done.stdout.strip().splitlines()[-1].split()
    print(
        f"ingest of {int(accepted):,} events in {float(seconds):.1f} s "
        f"({int(accepted) / float(seconds):,.0f} events/s)"
    )
    print(f"peak RSS of the ingest process: {max(peak, before) / 1024:,.0f} MB   (goal: < 2048 MB)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--file", type=Path, help="an existing orders CSV instead of a generated one")
    parser.add_argument("--chunk-rows", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=5, help="runs of each, alternated (best and median)")
    parser.add_argument("--memory", action="store_true", help="measure peak RSS (in a subprocess)")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    file = args.file or generate(args.rows, OUT / f"orders_{args.rows}.csv")
    if args.memory:
        memory(args, file)
    else:
        speed(args, file)


if __name__ == "__main__":
    main()
