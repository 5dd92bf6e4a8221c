"""`gapwatch rejected`: what ingest refused, with row number, reason and the refused value."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import click

from gapwatch.cli.common import emit_json, fail, json_option, server_client, workspace_option


@click.command("rejected")
@click.option("--source", default=None, help="Only rows of this source mapping.")
@click.option("--reason", default=None, help="Only this reason code (e.g. bad_value, negative_span).")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True, help="Rows to list.")
@workspace_option
@json_option
def command(source: str | None, reason: str | None, limit: int, workspace: Path, as_json: bool) -> None:
    """List rejected rows, newest first: source, file, row number (the header is row 1), the reason
    code, the sentence naming the column, and the refused value. Counts per reason come first."""
    found = _through_server(workspace, source, reason, limit) or _from_store(workspace, source, reason, limit)
    if as_json:
        emit_json(found)
        return
    _print(found)


def _through_server(
    workspace: Path, source: str | None, reason: str | None, limit: int
) -> dict[str, Any] | None:
    from gapwatch.client.http import ClientError

    client = server_client(workspace)
    if client is None:
        return None
    try:
        with client:
            answer = client.list_rejected(source=source, reason=reason, limit=limit)
    except ClientError as exc:
        fail(f"the server refused: {exc}")
        return None
    return {"rows": answer["items"], "count": answer["count"], "reasons": answer["reasons"]}


def _from_store(workspace: Path, source: str | None, reason: str | None, limit: int) -> dict[str, Any]:
    from gapwatch.config import ConfigError
    from gapwatch.ingest.rejects import list_rejected, rejected_counts
    from gapwatch.workspace import Workspace

    try:
        ws = Workspace.open(workspace, read_only=True)
    except (ConfigError, FileNotFoundError) as exc:
        fail(str(exc).splitlines()[0])
        return {}
    with ws:
        con = ws.store.reader()
        rows = list_rejected(con, source=source, reason=reason, limit=limit)
        counts = rejected_counts(con, source=source, reason=reason)
    return {
        "rows": [
            {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in dataclasses.asdict(r).items()}
            for r in rows
        ],
        "count": len(rows),
        "reasons": counts,
    }


def _print(found: dict[str, Any]) -> None:
    from rich.table import Table

    from gapwatch.cli.demo_view import wide_console

    console = wide_console()
    total = sum(found["reasons"].values())
    if not total:
        console.print("no rejected rows")
        return
    per = ", ".join(f"{code} {n:,}" for code, n in found["reasons"].items())
    console.print(f"{total:,} rejected row(s): {per}")
    table = Table(title_justify="left", show_lines=False)
    for col in ("source", "file", "row", "reason", "value", "why"):
        table.add_column(col, overflow="fold")
    for r in found["rows"]:
        row = "" if r["row_number"] is None else f"{r['row_number']:,}"
        value = "" if r["value"] is None else str(r["value"])
        table.add_row(r["source"], r["file"], row, r["reason_code"], value, r["reason"])
    console.print(table)
    if found["count"] < total:
        console.print(f"[dim]{found['count']} of {total:,} shown (--limit)[/]")
