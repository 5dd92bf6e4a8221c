"""`gapwatch detect`: aggregate the workspace's streams, run the detectors, store and print signals."""

from __future__ import annotations

from pathlib import Path

import click

from gapwatch.cli.common import emit_json, fail, json_option, workspace_option


@click.command("detect")
@workspace_option
@click.option(
    "--clock",
    type=click.Choice(["wall", "event"]),
    default="wall",
    show_default=True,
    help="Which periods are closed: by the wall clock, or by the latest event (a replay).",
)
@json_option
def command(workspace: Path, clock: str, as_json: bool) -> None:
    """Aggregate every stream (moment x segment x metric, and each moment as a whole) per day, run
    the charts chosen by volume against each stream's baseline, store the `stream_periods` and
    `signals` tables, and print the signals per stream."""
    from gapwatch.cli.demo_view import lifecycle_table, wide_console
    from gapwatch.monitor.run import run_monitor
    from gapwatch.monitor.summary import stream_states
    from gapwatch.workspace import Workspace

    try:
        ws = Workspace.open(workspace)
    except (FileNotFoundError, ValueError) as exc:
        fail(str(exc).splitlines()[0])
        return
    with ws:
        result = run_monitor(ws.store, ws.config, clock="event" if clock == "event" else "wall")
        states = stream_states(result, ws.lifecycle)
    if as_json:
        emit_json(
            {
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


def _signal(s: object) -> dict[str, object]:
    import dataclasses

    out = dataclasses.asdict(s)  # type: ignore[call-overload]
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in out.items()}
