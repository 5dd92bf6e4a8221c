"""Detection on simulated worlds: incidents caught and delay by size, false alarms and alerts per week.

    python bench/evaluate.py [--worlds 10] [--customers 30000] [--days 180] [--seed 100]
                             [--plain] [--incidents 5] [--save DIR | --from DIR] [--thin]

Each world is simulated with ``gapwatch.simulate`` (by default the *harder* world: a weekly
rhythm of misses, holiday peaks, slow drifts, a shifting segment mix; ``--plain`` for the
classic one), written to a folder, and run through the pipeline a user runs: init → ingest
every source file → detect (``run_monitor``, event clock). The workspace declares the world's
holiday peaks as known calendar effects (what the business knows of its own sales) when the
installed gapwatch understands ``detection.calendar``. ``truth.json`` is read only afterwards,
to score (``bench/_eval_kit.py``).

``--save DIR`` keeps the worlds; ``--from DIR`` scores saved worlds again, e.g. with another
version of gapwatch on ``PYTHONPATH`` (the scoring reads only what every version gives), which
is how a change is measured before and after on the same worlds.

``--thin`` adds the comparison of the per-event Bernoulli CUSUM with daily and weekly p-charts
on every stream too thin for a daily chart (n·p̄ < 5 a day), each at the same weekly allowance.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from _eval_kit import CAUGHT_DAYS, Score, quantiles, score

SIZES = (("×1.5", 1.5, 1.5), ("×2", 2.0, 2.0), ("×2.5", 2.5, 2.5), ("×3", 3.0, 3.0), ("×4–6", 4.0, 6.0))


def _config_text(truth: dict[str, Any]) -> str:
    """The default template, with the world's holiday peaks as known calendar effects when supported."""
    from gapwatch.config import default_config_text
    from gapwatch.config.schema import DetectionSection

    raw = yaml.safe_load(default_config_text())
    peaks = truth.get("seasonality", {}).get("peaks", [])
    if peaks and "calendar" in DetectionSection.model_fields:
        raw["detection"]["calendar"] = [
            {"name": p["name"], "start": p["start"], "end": p["end"], "factor": p["miss"]} for p in peaks
        ]
    return yaml.safe_dump(raw, sort_keys=False, allow_unicode=True)


def make_world(folder: Path, customers: int, days: int, seed: int, plain: bool, incidents: int) -> None:
    from gapwatch.simulate import WorldParams, simulate, write_world

    params = WorldParams.plain() if plain else WorldParams()
    if incidents == 0:  # in control: the seasons and the mix move, nothing else does
        kept = {k: getattr(params, k) for k in ("segment_mix_end", "weekday_miss", "peaks")}
        params = WorldParams.plain(**kept)
    write_world(simulate(customers, days, seed, incidents=incidents, params=params), folder / "sources")


def run_world(folder: Path) -> tuple[Any, dict[str, Any], Any]:
    """Init a workspace next to the world's files, ingest them, detect; returns result, truth, workspace."""
    from gapwatch.ingest.files import ingest_file
    from gapwatch.monitor.run import run_monitor
    from gapwatch.simulate import TRUTH_FILE
    from gapwatch.workspace import Workspace, init_workspace

    truth = json.loads((folder / "sources" / TRUTH_FILE).read_text(encoding="utf-8"))
    ws_dir = Path(tempfile.mkdtemp(prefix="ws-", dir=folder))  # its own: several runs may read one world
    init_workspace(ws_dir, config_text=_config_text(truth))
    ws = Workspace.open(ws_dir)
    for name in ws.config.sources:
        path = folder / "sources" / f"{name}.csv"
        if path.exists():
            ingest_file(ws, path, name)
    return run_monitor(ws.store, ws.config, clock="event"), truth, ws


def designed(result: Any, detection: Any, truth: dict[str, Any]) -> dict[str, float] | None:
    """False alarms the limits were designed for over each clean stream's phase II, per chart
    (Shewhart form: the EWMA at the same L runs below it); None for a gapwatch without per-stream L."""
    from scipy.stats import norm

    from _eval_kit import _families

    if not result.streams or not hasattr(result.streams[0], "L"):
        return None
    floor = 1.0 / detection.min_arl0_weeks if detection.min_arl0_weeks else 1.0
    week_rate = min(2 * norm.sf(result.L), floor)
    incident, drift = _families(truth)
    out: dict[str, float] = defaultdict(float)
    for v in result.streams:
        if not v.resolution or v.baseline_end is None or (v.key[0], v.key[2]) in incident | drift:
            continue
        weeks = max((result.last_period - v.baseline_end).days, 0) / 7.0
        per_week = 7.0 if v.resolution == "day" else 1.0
        for series in v.charts.values():
            out[series.chart] += per_week * 2 * norm.sf(v.L) * weeks
        if v.method.startswith("per-event"):
            out["bcusum"] += week_rate * weeks
    return dict(out)


def _label(size: float) -> str:
    return next(label for label, lo, hi in SIZES if lo <= size <= hi)


def report(
    scores: list[Score],
    args: argparse.Namespace,
    seconds: float,
    budget: float,
    designed: list[dict[str, float]],
) -> dict[str, Any]:
    weeks = sum(s.weeks for s in scores)
    delays: dict[str, list[int | None]] = defaultdict(list)
    for s in scores:
        for inc in s.incidents:
            delays[_label(inc["size"])].append(inc["delay"])
    world = "plain" if args.plain else "harder"
    print(
        f"\n{len(scores)} {world} worlds × {args.customers:,} people × {args.days} days "
        f"(seeds {args.seed}…{args.seed + len(scores) - 1}); {seconds:.0f} s\n"
    )
    print("Incidents: caught within 7 days of the start, and detected at all (up to 7 days after the end)")
    print("| size | incidents | caught ≤ 7 days | detected | median delay, days (IQR) |")
    print("|---|---|---|---|---|")
    rows = []
    for label, *_ in SIZES:
        v = delays.get(label, [])
        if not v:
            continue
        caught = sum(x is not None and x <= CAUGHT_DAYS for x in v)
        found = sum(x is not None for x in v)
        print(f"| {label} | {len(v)} | {caught} ({caught / len(v):.0%}) | {found} | {quantiles(v)} |")
        rows.append({"size": label, "incidents": len(v), "caught_7d": caught, "detected": found})
    allv = [x for v in delays.values() for x in v]
    caught_all = sum(x is not None and x <= CAUGHT_DAYS for x in allv)
    print(
        f"| all | {len(allv)} | {caught_all} ({caught_all / max(len(allv), 1):.0%}) | "
        f"{sum(x is not None for x in allv)} | {quantiles(allv)} |"
    )
    rates = np.array([s.clean_worse / s.weeks for s in scores if s.weeks])
    fa = sum(s.clean_worse for s in scores)
    fa_all = sum(s.clean_signals for s in scores)
    alerts = sum(s.alerts for s in scores)
    clean_alerts = sum(s.clean_alerts for s in scores)
    by_chart: dict[str, int] = defaultdict(int)
    for s in scores:
        for k, v in s.by_chart.items():
            by_chart[k] += v
    design_total = sum(sum(d.values()) for d in designed)
    design = f"; designed {design_total / weeks:.2f} a week" if designed else ""
    print(f"\nFalse alarms and alerts over {weeks:.1f} weeks monitored (budget {budget:g} a week{design})")
    print("| | count | per week (pooled) | per week, worlds: median (min–max) |")
    print("|---|---|---|---|")
    print(
        f'| false alarms ("worse" signals on clean streams) | {fa} | {fa / weeks:.2f} | '
        f"{np.median(rates):.2f} ({rates.min():.2f}–{rates.max():.2f}) |"
    )
    print(f"| signals of either direction on clean streams | {fa_all} | {fa_all / weeks:.2f} | |")
    print(f'| alerts (episodes of "worse" signals), all streams | {alerts} | {alerts / weeks:.2f} | |')
    print(f"| alerts on clean streams (false alerts) | {clean_alerts} | {clean_alerts / weeks:.2f} | |")
    drift = sum(s.drift_alerts for s in scores)
    print(f"| alerts on drifting streams | {drift} | {drift / weeks:.2f} | |")
    print(f"\nfalse alarms by chart: {dict(sorted(by_chart.items()))}")
    if designed:
        per_chart: dict[str, float] = defaultdict(float)
        for d in designed:
            for k, v in d.items():
                per_chart[k] += v
        charts = sorted(set(per_chart) | set(by_chart))
        print("| chart | false alarms observed | designed (clean streams, phase II) | observed / designed |")
        print("|---|---|---|---|")
        for k in charts:
            ratio = by_chart.get(k, 0) / per_chart[k] if per_chart.get(k) else float("nan")
            print(f"| {k} | {by_chart.get(k, 0)} | {per_chart.get(k, 0.0):.1f} | {ratio:.2f} |")
    worse, better = sum(s.worse for s in scores), sum(s.better for s in scores)
    print(f"signals: {worse} worse, {better} better (reported apart)")
    return {
        "world": world,
        "worlds": len(scores),
        "weeks": round(weeks, 1),
        "incidents": rows,
        "caught_7d": caught_all,
        "incidents_total": len(allv),
        "false_alarms_per_week": round(fa / weeks, 3),
        "alerts_per_week": round(alerts / weeks, 3),
        "false_alerts_per_week": round(clean_alerts / weeks, 3),
        "designed_per_week": round(design_total / weeks, 3) if designed else None,
    }


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--worlds", type=int, default=10)
    ap.add_argument("--customers", type=int, default=30_000)
    ap.add_argument("--days", type=int, default=180)
    ap.add_argument("--seed", type=int, default=100)
    ap.add_argument("--incidents", type=int, default=5)
    ap.add_argument(
        "--plain", action="store_true", help="The classic world (no seasonality, drifts, mix shift)."
    )
    ap.add_argument("--save", type=Path, help="Keep the generated worlds in this folder.")
    ap.add_argument("--from", dest="source", type=Path, help="Score the worlds saved in this folder.")
    ap.add_argument("--thin", action="store_true", help="Also compare charts on thin streams.")
    ap.add_argument("--json", type=Path, help="Write the summary as JSON here.")
    args = ap.parse_args(argv)
    scores: list[Score] = []
    designs: list[dict[str, float]] = []
    budget = 1.0
    start = time.perf_counter()
    tmp = tempfile.TemporaryDirectory(prefix="gapwatch-eval-")
    root = args.source or args.save or Path(tmp.name)
    for k in range(args.worlds):
        seed = args.seed + k
        folder = root / f"world-{seed}"
        if args.source is None:
            make_world(folder, args.customers, args.days, seed, args.plain, args.incidents)
        result, truth, ws = run_world(folder)
        with ws:
            budget = ws.config.detection.false_alarms_per_week
            scores.append(score(result, truth, ws.config.detection.baseline_days))
            design = designed(result, ws.config.detection, truth)
            if design is not None:
                designs.append(design)
            if args.thin:
                from _thin import compare_thin  # the per-event vs period charts comparison

                compare_thin(result, truth, ws.store.reader(), ws.config.detection)
        shutil.rmtree(ws.root, ignore_errors=True)
        print(f"world {seed}: {time.perf_counter() - start:.0f} s", file=sys.stderr)
    summary = report(scores, args, time.perf_counter() - start, budget, designs)
    if args.thin:
        from _thin import print_thin

        print_thin()
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
