"""`gapwatch demo`: simulate, ingest, detect and report on a fresh demo workspace (a thin face)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from gapwatch.cli.common import emit_json, fail, json_option

# The same as gapwatch.demo.run.default_size(), kept here so that --help imports nothing heavy.
CUSTOMERS, DAYS, SEED = 150_000, 180, 42


@click.command("demo")
@click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("gapwatch-demo"),
    show_default=True,
    help="Folder for the demo workspace.",
)
@click.option(
    "--customers",
    type=click.IntRange(min=100),
    default=CUSTOMERS,
    show_default=True,
    help="People in the simulated world.",
)
@click.option(
    "--days",
    type=click.IntRange(min=56),
    default=DAYS,
    show_default=True,
    help="Days of history to simulate.",
)
@click.option("--seed", type=int, default=SEED, show_default=True, help="Everything follows from the seed.")
@json_option
def command(folder: Path, customers: int, days: int, seed: int, as_json: bool) -> None:
    """Simulate a world with known incidents, ingest it, detect drifts during the fact, and compare
    each incident's detection day with the day the weekly end-of-journey NPS first showed it.
    Writes FOLDER/report.html (self-contained)."""
    from rich.console import Console

    from gapwatch.cli.demo_view import print_summary, progress, wide_console
    from gapwatch.demo.run import run_demo

    err = Console(stderr=True)
    try:
        with progress(err) as step:
            result = run_demo(folder, customers, days, seed, step=step)
    except (FileExistsError, ValueError) as exc:
        fail(str(exc))
        return
    out: Any = wide_console(stderr=as_json)
    print_summary(out, result)
    if as_json:
        emit_json(result.to_dict())
