"""`gapwatch replay DIR --url URL --token T`: replay a simulated world into a live server."""

from __future__ import annotations

import time
from pathlib import Path

import click

from gapwatch.cli.common import emit_json, fail, json_option


@click.command("replay")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--url", required=True, help="The server's base URL (see its gapwatch-serve.lock).")
@click.option("--token", required=True, envvar="GAPWATCH_TOKEN", help="An admin token (or $GAPWATCH_TOKEN).")
@click.option(
    "--speed",
    default="max",
    show_default=True,
    help="'max' (as fast as the server accepts) or an event-time factor such as 3600x.",
)
@click.option("--batch", "batch_size", default=500, show_default=True, type=click.IntRange(1, 1000))
@click.option(
    "--config",
    "config_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Workspace whose gapwatch.yaml maps the files (default: FOLDER's, else the template).",
)
@json_option
def command(
    folder: Path, url: str, token: str, speed: str, batch_size: int, config_dir: Path | None, as_json: bool
) -> None:
    """Post every experience of a simulated world in event-time order; retries are safe (idempotent)."""
    from gapwatch.client.http import ClientError, GapwatchClient
    from gapwatch.client.replay import Replayer, parse_speed, world_records
    from gapwatch.config import CONFIG_FILE, default_config, load_config

    try:
        factor = parse_speed(speed)
    except ValueError as exc:
        fail(str(exc))
        return
    where = config_dir or folder
    config = load_config(where) if (where / CONFIG_FILE).exists() else default_config()
    started = time.perf_counter()
    try:
        with GapwatchClient(url, token, batch_size=batch_size) as client:
            replayer = Replayer(client, factor, timezone=config.workspace.timezone)
            summary = replayer.run(world_records(folder, config))
    except ClientError as exc:
        fail(str(exc), code=1)
        return
    seconds = time.perf_counter() - started
    out = {
        "received": summary.received,
        "accepted": summary.accepted,
        "duplicate": summary.duplicate,
        "rejected": summary.rejected,
        "batches": summary.batches,
        "seconds": round(seconds, 3),
        "events_per_second": round(summary.received / seconds, 1) if seconds > 0 else None,
    }
    if as_json:
        emit_json(out)
    else:
        click.echo(
            f"{summary.received:,} events in {summary.batches} batches: {summary.accepted:,} accepted / "
            f"{summary.duplicate:,} duplicate / {summary.rejected:,} rejected ({seconds:.1f} s)"
        )
