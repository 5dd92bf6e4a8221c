"""`gapwatch detect`: aggregate the workspace's streams, run the detectors, store and print signals."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import click

from gapwatch.cli.common import (
    emit_json,
    engine_options,
    fail,
    json_option,
    open_cli_engine,
    workspace_option,
)


@click.command("detect")
@workspace_option
@click.option(
    "--clock",
    type=click.Choice(["wall", "event"]),
    default="wall",
    show_default=True,
    help="Which periods are closed: by the wall clock, or by the latest event (a replay).",
)
@engine_options
@json_option
def command(
    workspace: Path, clock: str, engine: str, lake: Path | None, spark_master: str, as_json: bool
) -> None:
    """Aggregate every stream (moment x segment x metric, and each moment as a whole) per day, run
    the charts chosen by volume against each stream's baseline, store the `stream_periods` and
    `signals` tables, and print the signals per stream: "worse" ones (they make alerts, one per
    episode) and "better" ones apart, with the alerts per moment and month beside the signals.

    With --lake the experiences are read from a Parquet lake (written by `gapwatch ingest --lake`)
    and aggregated by --engine (DuckDB or Spark); detection, the false-alarm budget and the stored
    results are the workspace's as without it. The JSON's `digest` (SHA-256 over the sorted signal
    rows: stream, period, chart, rule, direction) is equal across engines when the signals are."""
    from gapwatch.config import ConfigError
    from gapwatch.domain.alerts import episodes
    from gapwatch.monitor.on_engine import detect_lake, signal_digest
    from gapwatch.monitor.phases import read_phases
    from gapwatch.monitor.run import run_monitor
    from gapwatch.monitor.store import store_result, stream_periods_table
    from gapwatch.monitor.summary import monthly, stream_states
    from gapwatch.workspace import Workspace

    try:
        ws = Workspace.open(workspace)
    except ConfigError as exc:
        fail(exc.headline())
        return
    except (FileNotFoundError, ValueError) as exc:
        fail(str(exc).splitlines()[0])
        return
    mode: Literal["event", "wall"] = "event" if clock == "event" else "wall"
    with ws:
        if lake is None:
            if engine != "duckdb":
                fail("--engine spark needs --lake DIR (Spark reads and writes a Parquet lake, not the store)")
            result = run_monitor(ws.store, ws.config, clock=mode)
            events = ws.store.count("experiences")
        else:
            runner = open_cli_engine(engine, lake, spark_master, ws.config.workspace.timezone)
            try:
                phases = read_phases(ws.store.reader())  # cases that accepted a new normal
                run = detect_lake(runner, lake, ws.config, clock=mode, phases=phases)
            finally:
                runner.close()
            result, events = run.result, run.events
            with ws.store.transaction() as con:
                store_result(con, result, in_transaction=True)
        states = stream_states(result, ws.lifecycle)
        detection = ws.config.detection
    eps = episodes(result.signals, detection.episode_days)
    months = monthly(result.signals, detection.episode_days)
    limits = _limits(result, detection)
    if as_json:
        emit_json(
            {
                "engine": engine,
                "lake": None if lake is None else str(lake),
                "events": events,
                "stream_periods": stream_periods_table(result).num_rows,
                "digest": signal_digest(result.signals),
                "streams": [s.to_dict() for s in states],
                "signals": [_signal(s) for s in result.signals],
                "alerts": [_episode(e) for e in eps],
                "per_month": [m.to_dict() for m in months],
                "L": result.L,
                "limits": limits,
                "closed_through": result.closed_through.isoformat(),
            }
        )
        return
    _print(workspace, result, states, eps, months, limits, f"{events:,} events · engine {engine}")


def _limits(result: Any, detection: Any) -> dict[str, Any]:
    """What the limits were designed for: the budget's L and the per-stream floor."""
    return {
        "false_alarms_per_week": detection.false_alarms_per_week,
        "budget_L": result.L,
        "min_arl0_weeks": detection.min_arl0_weeks,
        "streams_at_floor": sum(1 for v in result.streams if v.resolution and v.L > result.L + 1e-9),
    }


def _print(
    workspace: Path, result: Any, states: Any, eps: Any, months: Any, limits: dict[str, Any], source: str
) -> None:
    from gapwatch.cli.demo_view import lifecycle_table, month_table, wide_console
    from gapwatch.monitor.on_engine import signal_digest

    console = wide_console()
    budget, floor = limits["false_alarms_per_week"], limits["min_arl0_weeks"]
    title = (
        f"Streams of {workspace} (limits ±{result.L:.2f}σ for {budget:g} false alarm(s) a week; no stream "
        f"below an ARL₀ of {floor:g} weeks: {limits['streams_at_floor']} at that floor)"
    )
    console.print(lifecycle_table(states, title=title))
    for s in states:
        sigs = result.signals_of((s.moment, s.segment, s.metric))
        worse = [x for x in sigs if x.direction != "better"]
        better = [x for x in sigs if x.direction == "better"]
        if worse:
            days = ", ".join(
                f"{x.period:%Y-%m-%d} {x.chart}{'*' if x.provisional else ''}" for x in worse[:8]
            )
            more = f" … (+{len(worse) - 8})" if len(worse) > 8 else ""
            console.print(f"[bold]{s.label}[/]: {len(worse)} worse: {days}{more}")
        if better:
            console.print(
                f"[green]{s.label}[/]: {len(better)} better (improvements, no alert), "
                f"{better[0].period:%Y-%m-%d} … {better[-1].period:%Y-%m-%d}"
            )
    if months:
        console.print(month_table(months))
    n_worse = sum(1 for x in result.signals if x.direction != "better")
    console.print(
        f"{len(result.signals)} signals stored: {n_worse} worse, {len(result.signals) - n_worse} better; "
        f"{len(eps)} alert(s) (episodes of worse signals) (* = provisional: the period is still open)"
    )
    console.print(f"digest {signal_digest(result.signals)[:16]} · {source}")


def _episode(e: Any) -> dict[str, Any]:
    return {
        "moment": e.moment,
        "metric": e.metric,
        "kind": e.kind,
        "first": e.first.isoformat(),
        "last": e.last.isoformat(),
        "signals": e.signals,
        "segments": list(e.segments),
    }


def _signal(s: Any) -> dict[str, object]:
    import dataclasses

    out = dataclasses.asdict(s)
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in out.items()}
