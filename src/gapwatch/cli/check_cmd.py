"""`gapwatch check`: validate gapwatch.yaml and report every problem with its path and line;
with ``--samples``, show what a tracking or webhook source's mapping makes of sample messages."""

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
    "--samples",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Sample messages (a batch body, a message, a webhook delivery, or JSON lines of them).",
)
@click.option("--source", default=None, help="The tracking or webhook source the samples are for.")
@json_option
def command(workspace: Path, samples: Path | None, source: str | None, as_json: bool) -> None:
    """Validate the workspace's gapwatch.yaml; exit 2 when it has problems (all are listed).

    With --samples FILE --source NAME, the samples go through NAME's mapping and the ingest
    path's checks on a throwaway store, and each record's verdict is shown as the server would
    give it; exit 1 when any record would be rejected."""
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
    if samples is not None or source is not None:
        _samples(config, samples, source, as_json)
        return
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


def _samples(config: WorkspaceConfig, samples: Path | None, source: str | None, as_json: bool) -> None:
    from gapwatch.collect.check import SampleError, check_samples, read_samples

    if samples is None or source is None:
        fail("--samples and --source go together")
        return
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
