"""`gapwatch serve`: the live service over a workspace (HTTP API under /v1)."""

from __future__ import annotations

import logging
import os
import sys
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
    clock has passed its end plus the grace delay. SIGTERM or Ctrl-C stops it cleanly within a few
    seconds (exit 0); a broken gapwatch.yaml is one line on stderr and exit 2."""
    from gapwatch.api.server import serve
    from gapwatch.config import ConfigError
    from gapwatch.settings import Settings
    from gapwatch.workspace import WorkspaceBusy

    settings = Settings.from_env(
        workspace=workspace, host=host, port=port, clock=clock, close_grace_seconds=grace_seconds
    )
    try:
        serve(workspace, settings)
    except ConfigError as exc:  # before anything is served: the file, the YAML path, the line
        fail(exc.headline(), code=2)
    except (WorkspaceBusy, OSError) as exc:
        fail(" ".join(str(exc).split()), code=1)
    except Exception as exc:  # a store that cannot be opened (damaged, another version): one line
        fail(f"cannot start: {type(exc).__name__}: {' '.join(str(exc).split())}"[:500], code=1)
    # Stopped cleanly: the store is closed, the lock and the credential are gone. Tearing down the
    # interpreter (the query and statistics libraries' objects) takes seconds and holds nothing.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
