"""`gapwatch check`: validate gapwatch.yaml and report every problem with its path and line;
with ``--sample FILE --source S``, try S's mapping on the sample (nothing is stored): the first
rows of a file for a file source, sample messages for a tracking or webhook source."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from gapwatch.cli.common import emit_json, fail, json_option, workspace_option

if TYPE_CHECKING:
    from gapwatch.config.schema import WorkspaceConfig


@click.command("check")
@workspace_option
@click.option(
    "--sample",
    "--samples",
    "sample",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="A file for a file source (its first rows are tried), or sample messages for a tracking or "
    "webhook source (a batch body, a message, a webhook delivery, or JSON lines of them).",
)
@click.option("--source", default=None, help="The source whose mapping to try on --sample.")
@click.option("--rows", type=click.IntRange(1, 100_000), default=1000, show_default=True, help="Rows to try.")
@json_option
def command(workspace: Path, sample: Path | None, source: str | None, rows: int, as_json: bool) -> None:
    """Validate the workspace's gapwatch.yaml; exit 2 when it has problems (all are listed).

    With --sample FILE --source NAME, NAME's mapping runs on the sample in memory. A file
    source: the counts its first rows would give, each reason with examples (row, value) and
    a hint. A tracking or webhook source: each record's verdict as the server would give it,
    through the ingest path's checks on a throwaway store; exit 1 when any would be rejected.
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
    if sample is not None and source is not None and (source in config.tracking or source in config.webhooks):
        _samples(config, sample, source, as_json)
        return
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


def _samples(config: WorkspaceConfig, samples: Path, source: str, as_json: bool) -> None:
    from gapwatch.collect.check import SampleError, check_samples, read_samples

    try:
        report = check_samples(config, source, read_samples(samples))
    except SampleError as exc:
        fail(str(exc))
        return
    if as_json:
        emit_json({"ok": report.ok, **report.as_dict()})
    else:
        for r in report.records:
            what = _mapped(r.mapped) if r.mapped else r.kind
            verdict = r.status if r.reason is None else f"{r.status}: {r.reason}"
            click.echo(f"  #{r.sample}.{r.index:<4} {str(r.event_id)[:28]:<28} {what:<52} {verdict}")
        click.echo(
            f"{source} ({report.kind}): {report.messages} message(s), {len(report.records)} record(s): "
            f"{report.count('accepted')} accepted, {report.count('duplicate')} duplicate, "
            f"{report.count('rejected')} rejected, {report.ignored} ignored"
        )
    if not report.ok:
        raise SystemExit(1)


def _mapped(record: dict[str, Any]) -> str:
    if "moment" in record:
        seg = f" [{record['segment']}]" if record.get("segment") is not None else ""
        return f"{record['moment']}/{record['metric']}={record.get('value')}{seg}"
    return f"outcome={record.get('value')}"
