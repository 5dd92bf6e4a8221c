"""`gapwatch export --what W --format F --out PATH`: a thin face over :mod:`gapwatch.export`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import click

from gapwatch.cli.common import emit_json, fail, json_option, server_client, workspace_option

if TYPE_CHECKING:
    from gapwatch.export.write import Format, Written

WHAT = ("experiences", "signals", "alerts", "cases", "streams")


@click.command("export")
@click.option("--what", type=click.Choice(WHAT), required=True, help="Which table to export.")
@click.option("--format", "fmt", type=click.Choice(["parquet", "csv"]), default="parquet", show_default=True)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="Where to write: a folder for experiences as Parquet (partitioned by period), else a file.",
)
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Rows of this day and later (cases: updated since).",
)
@click.option("--text", is_flag=True, help="Include experiences' free text (it may hold personal data).")
@click.option("--force", is_flag=True, help="Replace PATH if it exists.")
@workspace_option
@json_option
def command(
    what: str,
    fmt: str,
    out: Path,
    since: dt.datetime | None,
    text: bool,
    force: bool,
    workspace: Path,
    as_json: bool,
) -> None:
    """Export experiences, signals, alerts, cases or stream periods as Parquet or CSV.

    Pseudonymous ids only: experiences carry keyed ids, never a real customer id; free text
    only with --text. Parquet of experiences is a folder partitioned by period (hive layout:
    period=YYYY-MM-DD/), read as it is by DuckDB, Spark and pandas. While `gapwatch serve`
    owns the workspace, the rows come through its API (GET /v1/exports/WHAT).
    """
    from gapwatch.export import ExportError

    day = since.date() if since is not None else None
    try:
        written = _through_server(workspace, what, day, text, fmt, out, force)
        if written is None:
            written = _local(workspace, what, day, text, fmt, out, force)
    except ExportError as exc:
        fail(str(exc))
        return
    if as_json:
        emit_json(written.as_dict())
        return
    where = f", partitioned by {written.partitioned_by}" if written.partitioned_by else ""
    files = f"{written.files} file(s), {written.bytes:,} bytes{where}"
    click.echo(f"{written.rows:,} {what} → {written.out} ({files})")


def _through_server(
    workspace: Path, what: str, day: dt.date | None, text: bool, fmt: str, out: Path, force: bool
) -> Written | None:
    """The export through the server that owns ``workspace`` (an Arrow stream); None when none runs."""
    import pyarrow as pa

    from gapwatch.client.http import ClientError
    from gapwatch.export import write_export

    client = server_client(workspace)
    if client is None:
        return None
    try:
        with client, client.export_stream(what, day.isoformat() if day else None, text) as stream:
            return write_export(pa.ipc.open_stream(stream), what, _format(fmt), out, force=force)
    except ClientError as exc:
        fail(str(exc).split(": ", 1)[-1], code=2 if exc.status == 404 else 1)
        raise


def _local(
    workspace: Path, what: str, day: dt.date | None, text: bool, fmt: str, out: Path, force: bool
) -> Written:
    from gapwatch.config import ConfigError
    from gapwatch.export import export_reader, write_export
    from gapwatch.workspace import Workspace

    try:
        ws = Workspace.open(workspace, read_only=True)
    except (ConfigError, FileNotFoundError) as exc:
        fail(str(exc).splitlines()[0])
        raise
    with ws:
        reader = ws.store.reader()
        try:
            return write_export(
                export_reader(reader, what, day, text=text), what, _format(fmt), out, force=force
            )
        finally:
            reader.close()


def _format(fmt: str) -> Format:
    return "csv" if fmt == "csv" else "parquet"
