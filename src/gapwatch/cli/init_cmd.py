"""`gapwatch init DIR`: create a workspace (gapwatch.yaml, secret, embedded store)."""

from __future__ import annotations

from pathlib import Path

import click

from gapwatch.cli.common import emit_json, fail, json_option


@click.command("init")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path), default=Path())
@click.option("--force", is_flag=True, help="Replace an existing workspace (deletes its data).")
@json_option
def command(folder: Path, force: bool, as_json: bool) -> None:
    """Create a workspace in FOLDER: gapwatch.yaml (the default lifecycle template), a secret
    for pseudonymous customer ids (mode 0600) and the DuckDB store."""
    from gapwatch.config import CONFIG_FILE
    from gapwatch.workspace import DB_FILE, WorkspaceExists, init_workspace

    try:
        root = init_workspace(folder, force=force)
    except WorkspaceExists as exc:
        fail(str(exc))
        return
    if as_json:
        emit_json({"workspace": str(root), "config": str(root / CONFIG_FILE), "store": str(root / DB_FILE)})
    else:
        click.echo(f"workspace ready in {root}: edit {root / CONFIG_FILE}, then `gapwatch check`")
