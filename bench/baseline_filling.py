"""Benchmark: `gapwatch detect` on a workspace where 50 thin streams are filling their baselines.

    .venv/bin/python bench/baseline_filling.py [--streams 50] [--days 10] [--runs 3] [--seed 1]

A new stream's baseline is its first ``baseline_days`` days, so while it fills, each detection
run sees a new in-control miss rate p₀ and a new ARL₀ for every per-event (Bernoulli CUSUM)
stream.  The workspace gets ``--streams`` segments of the delivery moment, each with 2-4 events
a day and a miss rate between 1% and 8% (n·p < 5 a week: the engine watches them per event),
``--days`` days of history; then ``--runs`` detection runs follow, one more day ingested
before each (what a daily `gapwatch detect` sees while the baselines fill).

Each run is timed twice in this process: with the Bernoulli CUSUM design of the Markov chain
on a fine grid solved by bisection (``bernoulli_h_for_arl``, the design before issue 9) and
with the lattice design and its cached all-thresholds ARL curve (``bcusum_design``).  Both
designs start from empty caches.  The machine may be shared: figures are wall-clock seconds.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import functools
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import yaml

from gapwatch.config import default_config_text
from gapwatch.detectors import bcusum
from gapwatch.ingest.files import ingest_file
from gapwatch.monitor import events
from gapwatch.monitor.run import run_monitor
from gapwatch.workspace import Workspace, init_workspace

START = dt.date(2026, 1, 5)


def _config(streams: int) -> str:
    raw = yaml.safe_load(default_config_text())
    raw["segments"] = {f"s{i:02d}": {"name": f"Segment {i}"} for i in range(streams)}
    raw["sources"] = {
        "bench": {
            "event_id": "id",
            "customer_id": "customer",
            "occurred_at": "at",
            "moment": {"value": "delivery"},
            "segment": {"column": "seg"},
            "experiences": [{"metric": "delivery_days", "value": "days"}],
        }
    }
    raw["expectations"] = [e for e in raw["expectations"] if e["segment"] == "all"]
    return yaml.safe_dump(raw, sort_keys=False)


def _day_file(folder: Path, streams: int, day: int, seed: int) -> Path:
    """One day of events: stream i gets Poisson(2 + i mod 3) events, missed with its own rate."""
    rng = np.random.default_rng([seed, day])
    rates = np.linspace(0.01, 0.08, streams)
    lines = ["id,customer,at,seg,days"]
    date = START + dt.timedelta(days=day)
    for i in range(streams):
        for k in range(int(rng.poisson(2 + i % 3))):
            late = rng.random() < rates[i]
            days = 6 + int(rng.integers(0, 4)) if late else 1 + int(rng.integers(0, 4))
            lines.append(f"d{day}-s{i}-{k},c{i}-{k},{date}T{8 + k % 12:02d}:00:00Z,s{i:02d},{days}")
    path = folder / f"day{day}.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


Design = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


@contextlib.contextmanager
def _design(fn: Design, spent: list[float]) -> Iterator[None]:
    """Detection runs with ``fn`` as the design; the seconds it takes are added to ``spent``."""

    def timed(p0: np.ndarray, arl0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        t0 = time.perf_counter()
        try:
            return fn(p0, arl0)
        finally:
            spent.append(time.perf_counter() - t0)

    saved = events.bcusum_design
    events.bcusum_design = timed  # type: ignore[assignment]
    try:
        yield
    finally:
        events.bcusum_design = saved  # type: ignore[assignment]


def legacy_design(p0: np.ndarray, arl0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The design before issue 9: p₀ to 3 digits, ARL₀ up to 2, h by bisection on the fine chain."""
    p = np.array([float(f"{x:.3g}") for x in p0.tolist()])
    arl = np.array([_round_up(x) for x in arl0.tolist()])
    odds = p / (1 - p) * events.ODDS_RATIO
    p1 = odds / (1 + odds)
    gamma = np.array([bcusum.bernoulli_gamma(float(a), float(b)) for a, b in zip(p, p1, strict=True)])
    h = np.array([_legacy_h(float(a), float(b), float(c)) for a, b, c in zip(p, p1, arl, strict=True)])
    return gamma, h


def _round_up(x: float) -> float:
    scale = 10.0 ** (np.floor(np.log10(x)) - 1)
    return float(np.ceil(x / scale) * scale)


@functools.lru_cache(maxsize=4096)
def _legacy_h(p0: float, p1: float, arl0: float) -> float:
    return bcusum.bernoulli_h_for_arl(p0, p1, arl0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--streams", type=int, default=50)
    ap.add_argument("--days", type=int, default=10, help="days of history before the first run")
    ap.add_argument("--runs", type=int, default=3, help="detection runs, one more day before each")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    designs: dict[str, Design] = {
        "before (fine chain, bisection)": legacy_design,
        "after (lattice, ARL curve)": events.bcusum_design,
    }
    times: dict[str, list[float]] = {name: [] for name in designs}
    design_s: dict[str, list[float]] = {name: [] for name in designs}
    with tempfile.TemporaryDirectory(prefix="gapwatch-bench-") as tmp:
        root = init_workspace(Path(tmp) / "ws", config_text=_config(args.streams))
        with Workspace.open(root) as ws:
            for day in range(args.days):
                ingest_file(ws, _day_file(Path(tmp), args.streams, day, args.seed), "bench")
            for run in range(args.runs):
                ingest_file(ws, _day_file(Path(tmp), args.streams, args.days + run, args.seed), "bench")
                for name, fn in designs.items():
                    spent: list[float] = []
                    with _design(fn, spent):
                        t0 = time.perf_counter()
                        result = run_monitor(ws.store, ws.config, clock="event")
                        times[name].append(time.perf_counter() - t0)
                    design_s[name].append(sum(spent))
                per_event = sum(1 for v in result.streams if v.method.startswith("per-event"))
                print(
                    f"run {run + 1} ({args.days + run + 1} days, {per_event} streams per event): "
                    + "  ".join(
                        f"{name} {times[name][-1]:.2f} s (design {design_s[name][-1]:.3f} s)"
                        for name in designs
                    ),
                    flush=True,
                )
    print(f"\n`gapwatch detect` ({args.streams} streams filling their baselines), seconds per run")
    for name, ts in times.items():
        print(
            f"  {name:32s} median {np.median(ts):7.3f}   min {min(ts):7.3f}   "
            f"of which the design: median {np.median(design_s[name]):7.3f}   runs {len(ts)}"
        )


if __name__ == "__main__":
    main()
