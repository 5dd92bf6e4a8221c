"""Replay = demo: the signals of a live replay against the signals of ``gapwatch demo``'s batch run.

    .venv/bin/python bench/live_replay.py                          # 1,500 customers, 60 days
    .venv/bin/python bench/live_replay.py --customers 20000 --days 120 --out bench/out/live_vs_batch.png

1. ``gapwatch demo`` simulates a world, ingests it and runs the batch detection (workspace A).
2. ``gapwatch init`` makes an empty workspace B; ``gapwatch serve --clock event`` serves it.
3. ``gapwatch replay`` posts A's source files to B over HTTP, in event-time order, day by day.
4. The two stores' ``signals`` and ``stream_periods`` tables are compared (per stream, signal by
   signal); a figure shows the signals per stream, batch beside live, and the JSON summary is
   printed on the last line.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from gapwatch.adapters.duckdb_store import DuckDBStore
from gapwatch.live.state import StateSnapshot, compare_states, stored_state_snapshot

CLI = [sys.executable, "-m", "gapwatch"]
OUT = Path(__file__).resolve().parent / "out"


def _run(*args: str) -> dict[str, Any]:
    out = subprocess.run([*CLI, *args, "--json"], capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _snapshot(folder: Path) -> StateSnapshot:
    store = DuckDBStore(folder / "gapwatch.duckdb", read_only=True)
    try:
        return stored_state_snapshot(store.reader())
    finally:
        store.close()


def _serve_and_replay(demo: Path, live: Path) -> dict[str, Any]:
    with (live.parent / "serve.log").open("w") as log:
        server = subprocess.Popen(
            [*CLI, "serve", "--workspace", str(live), "--port", "0", "--clock", "event"], stderr=log
        )
        try:
            lock = live / "gapwatch-serve.lock"
            while not lock.exists():
                if server.poll() is not None:
                    raise RuntimeError("gapwatch serve exited; see serve.log")
                time.sleep(0.1)
            url = json.loads(lock.read_text())["url"]
            token = (live / ".gapwatch-local-token").read_text().strip()
            return _run(
                "replay", str(demo / "sources"), "--url", url, "--token", token, "--config", str(demo)
            )
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=120)


def _per_stream(snap: StateSnapshot) -> Counter[str]:
    return Counter(
        f"{m}/{s}/{x}"
        for m, s, x in zip(
            *(snap.signals.column(k).to_pylist() for k in ("moment", "segment", "metric")), strict=True
        )
    )


def _figure(batch: Counter[str], live: Counter[str], title: str, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    streams = sorted(set(batch) | set(live))
    y = range(len(streams))
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(streams) + 1.6))
    ax.barh([i + 0.2 for i in y], [batch[s] for s in streams], height=0.4, label="batch (gapwatch demo)")
    ax.barh(
        [i - 0.2 for i in y],
        [live[s] for s in streams],
        height=0.4,
        label="live (serve --clock event + replay)",
    )
    ax.set_yticks(list(y), streams, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("signals")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=130)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1500)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--out", type=Path, default=OUT / "live_vs_batch.png")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        demo, live = Path(tmp) / "demo", Path(tmp) / "live"
        started = time.perf_counter()
        _run(
            "demo",
            "--dir",
            str(demo),
            "--customers",
            str(args.customers),
            "--days",
            str(args.days),
            "--seed",
            str(args.seed),
        )
        demo_seconds = time.perf_counter() - started
        _run("init", str(live))
        replayed = _serve_and_replay(demo, live)
        batch, served = _snapshot(demo), _snapshot(live)
    differences = compare_states(batch, served)
    per_batch, per_live = _per_stream(batch), _per_stream(served)
    same = not differences
    title = (
        f"{args.customers:,} customers, {args.days} days (seed {args.seed}): "
        f"{batch.signals.num_rows} signals batch, {served.signals.num_rows} live — "
        f"{'identical' if same else 'DIFFERENT'}"
    )
    _figure(per_batch, per_live, title, args.out)
    print(f"{'stream':58} {'batch':>6} {'live':>6}", file=sys.stderr)
    for s in sorted(set(per_batch) | set(per_live)):
        print(f"{s:58} {per_batch[s]:>6} {per_live[s]:>6}", file=sys.stderr)
    print(
        json.dumps(
            {
                "customers": args.customers,
                "days": args.days,
                "seed": args.seed,
                "events": replayed["received"],
                "replay_seconds": replayed["seconds"],
                "replay_events_per_second": replayed["events_per_second"],
                "demo_seconds": round(demo_seconds, 1),
                "signals_batch": batch.signals.num_rows,
                "signals_live": served.signals.num_rows,
                "stream_periods": batch.periods.num_rows,
                "identical": same,
                "differences": differences[:10],
                "figure": str(args.out),
            }
        )
    )


if __name__ == "__main__":
    main()
