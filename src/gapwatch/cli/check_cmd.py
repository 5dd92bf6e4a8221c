"""`gapwatch check`: validate gapwatch.yaml and report every problem with its path and line."""

from __future__ import annotations

from pathlib import Path

import click

from gapwatch.cli.common import emit_json, json_option, workspace_option


@click.command("check")
@workspace_option
@json_option
def command(workspace: Path, as_json: bool) -> None:
    """Validate the workspace's gapwatch.yaml; exit 2 when it has problems (all are listed)."""
    from gapwatch.config import ConfigError, load_config

    try:
        config = load_config(workspace)
    except ConfigError as exc:
        problems = [{"path": p.path, "line": p.line, "message": p.message} for p in exc.problems]
        if as_json:
            emit_json({"ok": False, "file": exc.source, "problems": problems})
        else:
            click.echo(f"{exc.source}: {len(problems)} problem(s)", err=True)
            for p in exc.problems:
                click.echo(f"  {p}", err=True)
        raise SystemExit(2) from exc
    moments = sum(len(stage.moments) for stage in config.lifecycle)
    summary = {
        "ok": True,
        "file": str(workspace / "gapwatch.yaml"),
        "problems": [],
        "stages": len(config.lifecycle),
        "moments": moments,
        "expectations": len(config.expectations),
        "sources": len(config.sources),
    }
    if as_json:
        emit_json(summary)
    else:
        click.echo(
            f"gapwatch.yaml is valid: {len(config.lifecycle)} stages, {moments} moments, "
            f"{len(config.expectations)} expectations, {len(config.sources)} sources"
        )
