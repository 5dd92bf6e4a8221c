"""`gapwatch simulate`: write a simulated world (source files, survey answers, truth.json)."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from gapwatch.cli.common import emit_json, fail, json_option


def _date(ctx: click.Context, param: click.Parameter, value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


@click.command("simulate")
@click.option(
    "--customers",
    type=click.IntRange(min=1),
    default=5000,
    show_default=True,
    help="People landing on the site during the window (prospects included; about a third become "
    "customers). Journeys already under way on day one are simulated on top.",
)
@click.option(
    "--days", type=click.IntRange(min=1), default=180, show_default=True, help="Length of the export window."
)
@click.option("--seed", type=int, default=42, show_default=True, help="Everything follows from the seed.")
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder for <source>.csv, survey.csv and truth.json (created if missing).",
)
@click.option(
    "--start", callback=_date, default="2025-01-06", show_default=True, help="First day (YYYY-MM-DD)."
)
@click.option(
    "--incidents",
    type=click.IntRange(min=0),
    default=5,
    show_default=True,
    help="Incidents to inject after the clean baseline. From 3 on, one of them is systemic: every "
    "segment of the busiest must-be moment (delivery by default), x3 for 6 weeks (segment 'all' in "
    "truth.json); the others hit one segment of one moment.",
)
@click.option(
    "--dirty",
    type=click.FloatRange(0.0, 0.5),
    default=0.0,
    show_default=True,
    help="Add this fraction of bad rows per source file (recorded in truth.json).",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="A gapwatch.yaml (or workspace folder) to simulate; default: the built-in template.",
)
@json_option
def command(
    customers: int,
    days: int,
    seed: int,
    out: Path,
    start: dt.date,
    incidents: int,
    dirty: float,
    config_path: Path | None,
    as_json: bool,
) -> None:
    """Write a simulated world with known incidents: one CSV per source, survey.csv and truth.json."""
    from gapwatch.config import ConfigError, load_config
    from gapwatch.simulate import simulate, write_world
    from gapwatch.simulate.generate import STEPS

    try:
        config = load_config(config_path) if config_path is not None else None
    except ConfigError as exc:
        fail(str(exc).splitlines()[0])
        return
    console = Console(stderr=True)
    began = time.perf_counter()
    with _progress(console) as bar:
        task = bar.add_task("simulate", total=len(STEPS) + 7)

        def step(name: str) -> None:
            bar.update(task, advance=1, description=name)

        try:
            world = simulate(customers, days, seed, start, incidents, config=config, progress=step)
        except ValueError as exc:
            fail(str(exc))
            return
        files = write_world(world, out, dirty, progress=step)
    seconds = time.perf_counter() - began
    summary = Table(title="simulated world", caption=f"{out} · {seconds:.1f} s")
    for column in ("file", "rows"):
        summary.add_column(column, justify="right" if column == "rows" else "left")
    for name, rows in files.items():
        summary.add_row(f"{name}.csv", f"{rows:,}")
    wide = sum(i.systemic for i in world.incidents)
    summary.add_row(
        "truth.json", f"{len(world.incidents)} incidents" + (f" ({wide} systemic)" if wide else "")
    )
    Console(stderr=as_json).print(summary)
    if as_json:
        emit_json(
            {"out": str(out), "files": files, "incidents": len(world.incidents), "customers": customers}
        )


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description:<12}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
