"""`gapwatch ingest FILE --source NAME`: a thin face over :func:`gapwatch.service.ingest.ingest_file`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from gapwatch.cli.common import emit_json, fail, json_option, workspace_option


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
@json_option
def command(
    file: Path, source: str, chunk_rows: int, progress: bool | None, workspace: Path, as_json: bool
) -> None:
    """Ingest FILE (CSV, CSV.gz, Parquet, JSONL) with the source mapping NAME.

    Prints `accepted / duplicate / rejected` (counts of experiences). Rows that cannot be
    used are kept in the `rejected` table with the raw row and a reason. Exits non-zero
    only when the file itself cannot be used (missing, unreadable, a mapped column absent).
    """
    from gapwatch.config import ConfigError
    from gapwatch.service.ingest import IngestError, ingest_file
    from gapwatch.workspace import Workspace

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
    if as_json:
        emit_json(result.as_dict())
    else:
        click.echo(result.summary())
        for code, n in sorted(result.counts.reasons.items()):
            click.echo(f"  rejected {n:,}: {code}", err=True)
