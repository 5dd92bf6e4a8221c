"""Detection on simulated worlds: false alarms per week, delay per incident size, per-event vs period charts.

    python bench/evaluate.py [--worlds 10] [--customers 30000] [--days 180] [--seed 100]

Each world is simulated with ``gapwatch.simulate`` (5 injected incidents), written to a temp
folder, and run through the pipeline a user runs: init → ingest every source file → detect
(``run_monitor``, event clock).  ``truth.json`` is read only afterwards, to score.

1. The default method (what ``gapwatch detect`` does): false alarms per week across the
   workspace on streams without an incident (neither the incident's stream nor its moment's
   parent), against the configured budget; detection delay per incident size (first "worse"
   signal on the incident's stream, or on its parent with that segment the top contributor,
   from the start to 7 days after the end: the demo's scoring) and missed incidents.
2. Thin streams, where daily counts are too thin for the normal approximation (baseline
   n·p̄ < 5 a day): on every such stream the same data are judged by a per-event Bernoulli
   CUSUM, a daily p-chart and a weekly p-chart, each given the same weekly false-alarm
   allowance (one weekly point at the monitor's L); false alarms per stream-year on
   incident-free streams and delay to the incidents that fall on thin streams.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.stats import norm

from gapwatch.demo.score import GRACE_DAYS, count_false_alarms, score_incidents
from gapwatch.monitor.arrays import to_weeks
from gapwatch.monitor.detect import miss_rate_chart
from gapwatch.monitor.events import event_sequences, judge_events, plan_for_rows
from gapwatch.monitor.plan import NP_MIN, plan_streams, week_mask
from gapwatch.monitor.run import MonitorResult, run_monitor

Key = tuple[str, str, str]
SIZES = (("×2", 2.0, 2.0), ("×2.5", 2.5, 2.5), ("×3", 3.0, 3.0), ("×4–6", 4.0, 6.0))
CHARTS = ("per-event CUSUM", "daily p", "weekly p")


@dataclass
class Tally:
    """Everything counted over the worlds."""

    weeks: float = 0.0
    budget: float = 1.0
    false_by_chart: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    per_world_rate: list[float] = field(default_factory=list)
    delays: dict[str, list[float | None]] = field(default_factory=lambda: defaultdict(list))
    by_volume: dict[str, list[float | None]] = field(default_factory=lambda: defaultdict(list))
    thin_streams: int = 0
    thin_free_years: float = 0.0
    thin_false: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    thin_delay: dict[str, list[float | None]] = field(default_factory=lambda: defaultdict(list))
    event_streams: int = 0
    seconds: float = 0.0


def _day(text: str) -> dt.date:
    return dt.date.fromisoformat(text[:10])


def build_world(
    folder: Path, customers: int, days: int, seed: int
) -> tuple[MonitorResult, dict[str, Any], Any]:
    """Simulate, init, ingest, detect; returns the result, the truth and the open workspace."""
    from gapwatch.ingest.files import ingest_file
    from gapwatch.simulate import TRUTH_FILE, simulate, write_world
    from gapwatch.workspace import Workspace, init_workspace

    world = simulate(customers, days, seed, incidents=5)
    write_world(world, folder / "sources")
    init_workspace(folder)
    ws = Workspace.open(folder)
    for name in ws.config.sources:
        path = folder / "sources" / f"{name}.csv"
        if path.exists():
            ingest_file(ws, path, name)
    result = run_monitor(ws.store, ws.config, clock="event")
    truth = json.loads((folder / "sources" / TRUTH_FILE).read_text(encoding="utf-8"))
    return result, truth, ws


def _size_label(size: float) -> str:
    return next(label for label, lo, hi in SIZES if lo <= size <= hi)


def score_default(result: MonitorResult, truth: dict[str, Any], baseline_days: int, tally: Tally) -> None:
    incidents = truth["incidents"]
    lines = score_incidents(result, incidents, None)
    for line, inc in zip(lines, incidents, strict=True):
        tally.delays[_size_label(line.size)].append(line.delay_days)
        tally.by_volume[inc["volume"]].append(line.delay_days)
    hit = {(i["moment"], i["segment"], i["metric"]) for i in incidents}
    hit |= {(i["moment"], "*", i["metric"]) for i in incidents}
    for s in result.signals:
        if (s.moment, s.segment, s.metric) not in hit:
            tally.false_by_chart[s.chart] += 1
    assert result.first_period and result.last_period
    weeks = max((result.last_period - result.first_period).days + 1 - baseline_days, 0) / 7.0
    tally.weeks += weeks
    tally.per_world_rate.append(count_false_alarms(result, incidents) / weeks)
    tally.event_streams += sum(v.method.startswith("per-event") for v in result.streams)


def _first_worse(days: Iterable[dt.date], start: dt.date, end: dt.date) -> float | None:
    hits = [d for d in days if start <= d <= end + dt.timedelta(days=GRACE_DAYS)]
    return float((min(hits) - start).days) if hits else None


def compare_thin(
    result: MonitorResult, truth: dict[str, Any], con: Any, detection: Any, tally: Tally
) -> None:
    """Per-event CUSUM vs daily vs weekly p-chart on every stream with n·p̄ < 5 a day."""
    daily, base = result.daily, result.baseline
    assert daily is not None and base is not None
    plan = plan_streams(daily, base, detection)
    n = np.where(base, np.nan_to_num(daily.sums["n"]), 0.0).sum(axis=1)
    missed = np.where(base, np.nan_to_num(daily.sums["missed"]), 0.0).sum(axis=1)
    bdays = np.maximum(base.sum(axis=1), 1)
    pbar = np.divide(missed, n, out=np.zeros_like(n), where=n > 0)
    np_day = n / bdays * np.minimum(pbar, 1 - pbar)
    rows = np.flatnonzero((np.array(plan.resolution) != "") & (np_day < NP_MIN))
    if not rows.size:
        return
    keys: list[Key] = [daily.keys[i] for i in rows]
    alpha_week = float(2.0 * norm.sf(result.L))  # one weekly point's risk at the monitor's L
    # per-event Bernoulli CUSUM, as the monitor runs it
    eplan = plan_for_rows(daily, base, plan, rows, [""] * rows.size)
    judged = judge_events(eplan, event_sequences(con, keys), result.L)
    signal_days: dict[str, list[list[dt.date]]] = {c: [[] for _ in rows] for c in CHARTS}
    for r, c in zip(*np.nonzero(judged.signal), strict=True):
        signal_days[CHARTS[0]][int(r)].append(dt.date(1970, 1, 1) + dt.timedelta(days=int(judged.day[r, c])))
    # daily p chart: the same weekly allowance spread over 7 points
    d = daily.take(rows)
    l_day = float(norm.isf(alpha_week / 14.0))
    _period_signals(
        miss_rate_chart(d.sums["missed"], d.sums["n"], base[rows], l_day),
        d.dates(),
        d.dates(),
        plan,
        rows,
        signal_days[CHARTS[1]],
    )
    # weekly p chart at the monitor's L
    weeks = to_weeks(daily)
    w = weeks.take(rows)
    wbase = week_mask(base, weeks, daily)[rows]
    ends = [min(x.item(), daily.dates()[-1]) for x in w.period_end().astype("datetime64[D]")]
    _period_signals(
        miss_rate_chart(w.sums["missed"], w.sums["n"], wbase, result.L, laney=["never"] * rows.size),
        ends,
        w.dates(),
        plan,
        rows,
        signal_days[CHARTS[2]],
    )
    incidents = {(i["moment"], i["segment"], i["metric"]): i for i in truth["incidents"]}
    last = result.last_period
    assert last is not None
    for j, key in enumerate(keys):
        inc = incidents.get(key)
        parent_hit = key[1] == "*" and any(
            (i["moment"], i["metric"]) == (key[0], key[2]) for i in truth["incidents"]
        )
        end = plan.baseline_end[rows[j]]
        if inc is None and not parent_hit and end is not None:
            tally.thin_streams += 1
            tally.thin_free_years += (last - end).days / 365.25
            for c in CHARTS:
                tally.thin_false[c] += len(signal_days[c][j])
        elif inc is not None:
            for c in CHARTS:
                delay = _first_worse(signal_days[c][j], _day(inc["start"]), _day(inc["end"]))
                tally.thin_delay[c].append(delay)


def _period_signals(
    chart: Any,
    days: Sequence[dt.date],
    starts: Sequence[dt.date],
    plan: Any,
    rows: NDArray[np.intp],
    out: list[list[dt.date]],
) -> None:
    flags = next(iter(chart.signals.values()))
    worse = flags & (chart.statistic > chart.ucl)
    for j, i in enumerate(rows):
        end = plan.baseline_end[i]
        out[j].extend(
            days[t] for t in np.flatnonzero(worse[j]).tolist() if end is not None and starts[t] > end
        )


def _q(values: Sequence[float | None]) -> str:
    got = [v for v in values if v is not None]
    if not got:
        return "–"
    q1, med, q3 = np.percentile(got, [25, 50, 75])
    return f"{med:.1f} ({q1:.1f}–{q3:.1f})"


def report(t: Tally, args: argparse.Namespace) -> None:
    print(
        f"\n{args.worlds} worlds × {args.customers:,} people × {args.days} days (seeds {args.seed}…"
        f"{args.seed + args.worlds - 1}), 5 incidents each; {t.seconds:.0f} s\n"
    )
    print(
        "1. Default method: false alarms on incident-free streams (budget "
        f"{t.budget:g} a week across the workspace)"
    )
    total = sum(t.false_by_chart.values())
    rates = np.array(t.per_world_rate)
    print(
        "| weeks monitored | false alarms | per week (pooled) | per week, worlds: median (min–max)"
        " | by chart |"
    )
    print("|---|---|---|---|---|")
    by_chart = ", ".join(f"{k} {v}" for k, v in sorted(t.false_by_chart.items()))
    print(
        f"| {t.weeks:.1f} | {total} | {total / t.weeks:.2f} | {np.median(rates):.2f} "
        f"({rates.min():.2f}–{rates.max():.2f}) | {by_chart} |"
    )
    print(f"\n(per-event CUSUM streams: {t.event_streams} over all worlds)\n")
    print("Detection delay (days from incident start to first signal) per incident size")
    print("| size | incidents | detected | missed | median delay (IQR) |")
    print("|---|---|---|---|---|")
    for label, *_ in SIZES:
        v = t.delays.get(label, [])
        det = sum(x is not None for x in v)
        print(f"| {label} | {len(v)} | {det} | {len(v) - det} | {_q(v)} |")
    allv = [x for v in t.delays.values() for x in v]
    print(
        f"| all | {len(allv)} | {sum(x is not None for x in allv)} | {sum(x is None for x in allv)}"
        f" | {_q(allv)} |"
    )
    print(
        "\n2. Thin streams (baseline n·p̄ < 5 a day): the same data judged three ways, equal weekly "
        "false-alarm allowance"
    )
    print(
        f"({t.thin_streams} incident-free thin streams, {t.thin_free_years:.1f} stream-years after baselines)"
    )
    print(
        "| chart | false alarms | per stream-year | incidents on thin streams | detected"
        " | median delay (IQR) |"
    )
    print("|---|---|---|---|---|---|")
    for c in CHARTS:
        v = t.thin_delay.get(c, [])
        det = sum(x is not None for x in v)
        print(
            f"| {c} | {t.thin_false[c]} | {t.thin_false[c] / max(t.thin_free_years, 1e-9):.2f} | {len(v)} | "
            f"{det} | {_q(v)} |"
        )


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--worlds", type=int, default=10)
    ap.add_argument("--customers", type=int, default=30_000)
    ap.add_argument("--days", type=int, default=180)
    ap.add_argument("--seed", type=int, default=100)
    args = ap.parse_args(argv)
    tally = Tally()
    start = time.perf_counter()
    for k in range(args.worlds):
        seed = args.seed + k
        with tempfile.TemporaryDirectory(prefix="gapwatch-eval-") as tmp:
            result, truth, ws = build_world(Path(tmp) / "ws", args.customers, args.days, seed)
            with ws:
                tally.budget = ws.config.detection.false_alarms_per_week
                score_default(result, truth, ws.config.detection.baseline_days, tally)
                compare_thin(result, truth, ws.store.reader(), ws.config.detection, tally)
        print(f"world {seed}: {time.perf_counter() - start:.0f} s", file=sys.stderr)
    tally.seconds = time.perf_counter() - start
    report(tally, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
