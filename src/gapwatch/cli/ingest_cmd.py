"""`gapwatch ingest FILE --source NAME`: a thin face over :func:`gapwatch.ingest.files.ingest_file`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from gapwatch.cli.common import (
    engine_options,
    fail,
    json_option,
    open_cli_engine,
    report_counts,
    server_client,
    workspace_option,
)


@click.command("ingest")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--source", "source", required=True, help="The source mapping in gapwatch.yaml.")
@click.option(
    "--chunk-rows",
    type=click.IntRange(min=1),
    default=500_000,
    show_default=True,
    help="Rows per chunk (one transaction each).",
)
@click.option(
    "--progress/--no-progress", default=None, help="Progress bar on stderr (default: when a terminal)."
)
@workspace_option
@engine_options
@json_option
def command(
    file: Path,
    source: str,
    chunk_rows: int,
    progress: bool | None,
    workspace: Path,
    engine: str,
    lake: Path | None,
    spark_master: str,
    as_json: bool,
) -> None:
    """Ingest FILE (CSV, CSV.gz, Parquet, JSONL) with the source mapping NAME.

    Prints `accepted / duplicate / rejected` (counts of experiences). Rows that cannot be
    used are kept in the `rejected` table with the raw row and a reason. Exits non-zero
    only when the file itself cannot be used (missing, unreadable, a mapped column absent).
    """
    from gapwatch.config import ConfigError
    from gapwatch.ingest.files import IngestError, ingest_file
    from gapwatch.workspace import Workspace

    if lake is not None or engine != "duckdb":
        _into_lake(file, source, workspace, engine, lake, spark_master, as_json)
        return
    if _through_server(file, source, workspace, as_json):
        return
    try:
        ws = Workspace.open(workspace)
    except (ConfigError, FileNotFoundError) as exc:
        fail(str(exc).splitlines()[0] if isinstance(exc, FileNotFoundError) else f"{exc}".replace("\n", " "))
        return
    show = sys.stderr.isatty() if progress is None else progress
    try:
        with ws:
            result = ingest_file(ws, file, source, chunk_rows=chunk_rows, progress=show)
    except IngestError as exc:
        fail(str(exc), code=exc.exit_code)
        return
    report_counts(result.as_dict(), as_json)


def _through_server(file: Path, source: str, workspace: Path, as_json: bool) -> bool:
    """Upload ``file`` to the server that owns ``workspace``; False when none runs."""
    from gapwatch.client.http import ClientError

    client = server_client(workspace)
    if client is None:
        return False
    if not file.is_file():
        fail(f"{file}: no such file", code=1)
    try:
        with client:
            result = client.upload_file(file, source)
    except ClientError as exc:
        # The same exit codes as without a server: 2 for an unknown source (a usage error),
        # 1 for a file its mapping cannot read (nothing written).
        if exc.status == 404:
            fail(str(exc).split(": ", 1)[-1], code=2)
        elif exc.status == 422:
            fail(str(exc).split(": ", 1)[-1], code=1)
        else:
            fail(f"the server refused the file: {exc}", code=1)
        return True
    report_counts(result, as_json, f" (through the server at {client.url})")
    return True


def _into_lake(
    file: Path, source: str, workspace: Path, engine: str, lake: Path | None, master: str, as_json: bool
) -> None:
    from gapwatch.config import ConfigError
    from gapwatch.ingest.files import IngestError
    from gapwatch.ingest.lake import ingest_workspace_lake
    from gapwatch.workspace import Workspace

    if lake is None:
        fail(f"--engine {engine} needs --lake DIR (Spark reads and writes a Parquet lake, not the store)")
        return
    try:
        ws = Workspace.open(workspace)
    except (ConfigError, FileNotFoundError) as exc:
        fail(str(exc).splitlines()[0] if isinstance(exc, FileNotFoundError) else f"{exc}".replace("\n", " "))
        return
    with ws:
        runner = open_cli_engine(engine, lake, master, ws.config.workspace.timezone)
        try:
            result = ingest_workspace_lake(ws, runner, lake, file, source)
        except IngestError as exc:
            fail(str(exc), code=exc.exit_code)
            return
        finally:
            runner.close()
    counts = {**result.as_dict(), "engine": engine, "lake": str(lake)}
    report_counts(counts, as_json, f" (into the lake {lake}, engine {engine})")
