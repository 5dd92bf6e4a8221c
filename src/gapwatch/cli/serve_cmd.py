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
def command(workspace: Path, host: str, port: int) -> None:
    """Serve the workspace's API (OpenAPI at /openapi.json). The server owns the workspace while it
    runs and writes gapwatch-serve.lock with its URL; CLI commands then go through it."""
    from gapwatch.api.server import WorkspaceBusy, serve
    from gapwatch.settings import Settings

    settings = Settings.from_env(workspace=workspace, host=host, port=port)
    try:
        serve(workspace, settings)
    except (WorkspaceBusy, FileNotFoundError, OSError) as exc:
        fail(str(exc), code=1)
