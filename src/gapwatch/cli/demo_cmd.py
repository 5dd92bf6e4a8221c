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
@click.option(
    "--serve",
    "serve_after",
    is_flag=True,
    help="Then serve the demo workspace (web app at /, API at /v1) and print a one-time sign-in link.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="With --serve: interface to listen on.")
@click.option(
    "--port", default=8765, show_default=True, type=click.IntRange(0, 65535), help="With --serve: port."
)
@json_option
def command(
    folder: Path, customers: int, days: int, seed: int, serve_after: bool, host: str, port: int, as_json: bool
) -> None:
    """Simulate a world with known incidents, ingest it, detect drifts during the fact, and compare
    each incident's detection day with the day the weekly end-of-journey NPS first showed it.
    Writes FOLDER/report.html (self-contained). With --serve, keeps the web app up on the demo
    workspace (event-time clock) and prints a sign-in link for an analyst that works once."""
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
    if serve_after:
        _serve(folder, host, port, link_to_stderr=as_json)


def _serve(folder: Path, host: str, port: int, *, link_to_stderr: bool) -> None:
    """Serve the demo workspace; the alerts its signals call for are raised first."""
    from gapwatch.api.server import serve
    from gapwatch.lockfile import WorkspaceBusy
    from gapwatch.serve.runtime import Runtime
    from gapwatch.settings import Settings
    from gapwatch.web.auth import sign_in_link

    def ready(runtime: Runtime, url: str) -> None:
        alerts = runtime.writer.call(runtime.alert)
        link = sign_in_link(runtime, url, label="demo --serve")
        click.echo(f"{len(alerts):,} alerts raised from the demo's signals; web app at {url}/", err=True)
        click.echo(f"sign in (this link works once): {link}", err=link_to_stderr)

    settings = Settings.from_env(workspace=folder, host=host, port=port, clock="event")
    try:
        serve(folder, settings, on_ready=ready)
    except (WorkspaceBusy, OSError) as exc:
        fail(str(exc), code=1)
