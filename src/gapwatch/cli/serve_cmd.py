"""`gapwatch serve`: the live service over a workspace (HTTP API under /v1)."""

from __future__ import annotations

from pathlib import Path

import click

from gapwatch.cli.common import fail, workspace_option


@click.command("serve")
@workspace_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--port",
    default=8765,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port (0 picks a free one; the lock file names it).",
)
@click.option(
    "--clock",
    type=click.Choice(["wall", "event"]),
    default=None,
    help="When days close: by the wall clock (default), or by event time for replays of history.",
)
@click.option(
    "--grace",
    "grace_seconds",
    type=click.FloatRange(min=0.0),
    default=None,
    help="Seconds a day stays open after its end (default: 900 on the wall clock, 0 on event time).",
)
def command(workspace: Path, host: str, port: int, clock: str | None, grace_seconds: float | None) -> None:
    """Serve the workspace's API (OpenAPI at /openapi.json). The server owns the workspace while it
    runs and writes gapwatch-serve.lock with its URL; CLI commands then go through it. Each
    request's events are judged as they are stored (incremental detection); a day closes when the
    clock has passed its end plus the grace delay."""
    from gapwatch.api.server import serve
    from gapwatch.settings import Settings
    from gapwatch.workspace import WorkspaceBusy

    settings = Settings.from_env(
        workspace=workspace, host=host, port=port, clock=clock, close_grace_seconds=grace_seconds
    )
    try:
        serve(workspace, settings)
    except (WorkspaceBusy, FileNotFoundError, OSError) as exc:
        fail(str(exc), code=1)
