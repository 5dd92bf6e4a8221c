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
    `signals` tables, and print the signals per stream.

    With --lake the experiences are read from a Parquet lake (written by `gapwatch ingest --lake`)
    and aggregated by --engine (DuckDB or Spark); detection, the false-alarm budget and the stored
    results are the workspace's as without it. The JSON's `digest` (SHA-256 over the sorted signal
    rows: stream, period, chart, rule, direction) is equal across engines when the signals are."""
    from gapwatch.cli.demo_view import lifecycle_table, wide_console
    from gapwatch.monitor.on_engine import detect_lake, signal_digest
    from gapwatch.monitor.run import run_monitor
    from gapwatch.monitor.store import store_result, stream_periods_table
    from gapwatch.monitor.summary import stream_states
    from gapwatch.workspace import Workspace

    try:
        ws = Workspace.open(workspace)
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
                run = detect_lake(runner, lake, ws.config, clock=mode)
            finally:
                runner.close()
            result, events = run.result, run.events
            with ws.store.transaction() as con:
                store_result(con, result, in_transaction=True)
        states = stream_states(result, ws.lifecycle)
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
                "L": result.L,
                "closed_through": result.closed_through.isoformat(),
            }
        )
        return
    console = wide_console()
    console.print(lifecycle_table(states, title=f"Streams of {workspace} (limits ±{result.L:.2f}σ)"))
    for s in states:
        key = (s.moment, s.segment, s.metric)
        sigs = result.signals_of(key)
        if sigs:
            days = ", ".join(f"{x.period:%Y-%m-%d} {x.chart}{'*' if x.provisional else ''}" for x in sigs[:8])
            more = f" … (+{len(sigs) - 8})" if len(sigs) > 8 else ""
            console.print(f"[bold]{s.label}[/]: {len(sigs)} signal(s): {days}{more}")
    console.print(f"{len(result.signals)} signals stored (* = provisional: the period is still open)")
    console.print(f"digest {signal_digest(result.signals)[:16]} · {events:,} events · engine {engine}")


def _signal(s: Any) -> dict[str, object]:
    import dataclasses

    out = dataclasses.asdict(s)
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in out.items()}
