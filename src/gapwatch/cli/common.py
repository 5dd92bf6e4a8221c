"""Shared pieces of the CLI faces: the workspace option, JSON output, errors."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from gapwatch.client.http import GapwatchClient

workspace_option = click.option(
    "--workspace",
    "workspace",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(),
    show_default="the current folder",
    help="Workspace folder (holds gapwatch.yaml and the store).",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object on the last line.")


def _clean(value: Any) -> Any:
    """NaN and infinities become null: JSON output never holds NaN (DESIGN.md)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def emit_json(obj: dict[str, Any]) -> None:
    """Write exactly one compact JSON object as the last line of stdout."""
    sys.stdout.write(json.dumps(_clean(obj), separators=(",", ":"), allow_nan=False) + "\n")
    sys.stdout.flush()


def fail(message: str, code: int = 2) -> None:
    """One line on stderr naming the problem, then exit (2 for usage and bad input)."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def server_client(workspace: Path) -> GapwatchClient | None:
    """A client of the ``gapwatch serve`` that owns ``workspace`` (its admin token), or None.

    While a server runs, the CLI goes through it (DESIGN.md, "One process owns a workspace").
    """
    from gapwatch.client.http import GapwatchClient
    from gapwatch.lockfile import local_server

    found = local_server(workspace)
    return None if found is None else GapwatchClient(found[0], found[1], max_retries=3)


def report_counts(counts: dict[str, Any], as_json: bool, where: str = "") -> None:
    """An ingest's counts: the JSON object, or the summary line (and the reject reasons on stderr)."""
    if as_json:
        emit_json(counts)
        return
    click.echo(
        f"{counts['accepted']:,} accepted / {counts['duplicate']:,} duplicate / "
        f"{counts['rejected']:,} rejected{where}"
    )
    for code, n in sorted(counts["reasons"].items()):
        click.echo(f"  rejected {n:,}: {code}", err=True)


def engine_options(command: Any) -> Any:
    """``--engine``, ``--lake`` and ``--spark-master``: where the set-wise steps run, and on what."""
    command = click.option(
        "--spark-master",
        default="local[2]",
        show_default=True,
        help="With --engine spark: local[N], a cluster master (spark://, yarn, k8s://) or sc:// (Connect).",
    )(command)
    command = click.option(
        "--lake",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="A Parquet lake (experiences, outcomes, rejected; Hive-partitioned) instead of the store.",
    )(command)
    return click.option(
        "--engine",
        type=click.Choice(["duckdb", "spark"]),
        default="duckdb",
        show_default=True,
        help="Where mapping, scoring and aggregation run: DuckDB (embedded) or Spark (Java 17).",
    )(command)


def open_cli_engine(engine: str, lake: Path | None, master: str, timezone: str) -> Any:
    """The engine for a command, or a usage error (Spark needs a lake, and PySpark with Java)."""
    import shutil

    if engine == "spark":
        if lake is None:
            fail("--engine spark needs --lake DIR (Spark reads and writes a Parquet lake, not the store)")
        try:
            import pyspark  # noqa: F401
        except ImportError:
            fail("--engine spark needs PySpark: pip install 'gapwatch[spark]'")
        if not master.startswith("sc://") and shutil.which("java") is None:
            fail("--engine spark needs Java 17 on the PATH (e.g. apt-get install openjdk-17-jre-headless)")
    from gapwatch.engines import open_engine

    return open_engine(engine, timezone=timezone, master=master)
