"""`gapwatch check`: validate gapwatch.yaml and report every problem with its path and line;
with ``--sample FILE --source S``, try the mapping on the file's first rows (nothing is stored)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from gapwatch.cli.common import emit_json, fail, json_option, workspace_option


@click.command("check")
@workspace_option
@click.option(
    "--sample",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also run a source mapping on this file's first rows and report what would be rejected.",
)
@click.option("--source", default=None, help="The source mapping to try on --sample.")
@click.option("--rows", type=click.IntRange(1, 100_000), default=1000, show_default=True, help="Rows to try.")
@json_option
def command(workspace: Path, sample: Path | None, source: str | None, rows: int, as_json: bool) -> None:
    """Validate the workspace's gapwatch.yaml; exit 2 when it has problems (all are listed).

    With --sample FILE --source NAME, the mapping runs on the file's first rows in memory: the
    counts it would accept and reject, each reason with examples (row, value) and a hint.
    """
    from gapwatch.config import ConfigError, load_config

    if (sample is None) != (source is None):
        fail("--sample and --source go together")
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
    summary: dict[str, Any] = {
        "ok": True,
        "file": str(workspace / "gapwatch.yaml"),
        "problems": [],
        "stages": len(config.lifecycle),
        "moments": moments,
        "expectations": len(config.expectations),
        "sources": len(config.sources),
    }
    if sample is not None and source is not None:
        summary["sample"] = _sample(config, sample, source, rows)
    if as_json:
        emit_json(summary)
        return
    click.echo(
        f"gapwatch.yaml is valid: {len(config.lifecycle)} stages, {moments} moments, "
        f"{len(config.expectations)} expectations, {len(config.sources)} sources"
    )
    if "sample" in summary:
        _print_sample(summary["sample"])


def _sample(config: Any, sample: Path, source: str, rows: int) -> dict[str, Any]:
    from gapwatch.ingest.files import IngestError
    from gapwatch.ingest.sample import check_sample

    try:
        return check_sample(config, sample, source, rows_wanted=rows).to_dict()
    except IngestError as exc:
        fail(str(exc), code=exc.exit_code)
    return {}


def _print_sample(s: dict[str, Any]) -> None:
    click.echo(
        f"{s['file']}, first {s['rows']:,} rows with source '{s['source']}': "
        f"{s['accepted']:,} would be accepted, {s['rejected']:,} rejected"
        + (f" ({s['open_promises']:,} open promises)" if s["open_promises"] else "")
    )
    for code, n in s["reasons"].items():
        click.echo(f"  {code}: {n:,}")
        for ex in s["examples"].get(code, []):
            value = "" if ex["value"] is None else f" value {ex['value']!r}:"
            click.echo(f"    row {ex['row']}:{value} {ex['reason']}")
        if code in s["hints"]:
            click.echo(f"    hint: {s['hints'][code]}")
    if len(s["segments"]) > 1:
        top = ", ".join(f"{k} {v}" for k, v in list(s["segments"].items())[:12])
        click.echo(f"  segments: {top}{' …' if len(s['segments']) > 12 else ''}")
