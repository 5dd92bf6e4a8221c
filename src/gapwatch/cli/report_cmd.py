"""`gapwatch report`: one self-contained HTML report of any workspace (a thin face)."""

from __future__ import annotations

from pathlib import Path

import click

from gapwatch.cli.common import fail, server_client, workspace_option


@click.command("report")
@workspace_option
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File to write (default: WORKSPACE/report.html).",
)
@click.option(
    "--clock",
    type=click.Choice(["wall", "event"]),
    default="wall",
    show_default=True,
    help="Which periods count as closed (later points are drawn provisional): wall clock or last event.",
)
def command(workspace: Path, out: Path | None, clock: str) -> None:
    """Write the workspace's report: every chart of every signalled stream (miss rate, EWMA,
    per-event CUSUM), the weekly NPS with its limits and the lifecycle table, as one HTML file
    with inline CSS and SVG (no script, nothing fetched). Reads what `gapwatch detect` or the
    running server stored; while `gapwatch serve` owns the workspace, it asks the server."""
    target = out or workspace / "report.html"
    client = server_client(workspace)
    if client is not None:
        from gapwatch.client import ClientError

        try:
            with client:
                html = client.get_report()
        except ClientError as exc:
            fail(f"the server refused the report: {exc}", code=1)
            return
    else:
        html = _from_store(workspace, clock)
    from gapwatch.report import write_report

    click.echo(str(write_report(target, html)))


def _from_store(workspace: Path, clock: str) -> str:
    from gapwatch.config import ConfigError
    from gapwatch.report import NothingDetected, report_of_workspace
    from gapwatch.workspace import Workspace

    try:
        ws = Workspace.open(workspace, read_only=True)
    except (ConfigError, FileNotFoundError, ValueError) as exc:
        fail(str(exc).splitlines()[0])
        raise AssertionError from exc  # fail exits
    with ws:
        try:
            return report_of_workspace(ws, clock)
        except NothingDetected as exc:
            fail(f"{exc}: run `gapwatch detect --workspace {workspace}` first", 1)
            raise AssertionError from exc
