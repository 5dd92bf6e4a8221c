"""`gapwatch perspectives`: perception surveys of customers, employees and leaders.

``gapwatch perspectives ingest FILE`` stores a survey file (rows rejected with reasons);
``gapwatch perspectives show`` prints each perspective's score and the gaps with intervals.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from gapwatch.cli.common import emit_json, fail, json_option, report_counts, workspace_option


def _open(workspace: Path, read_only: bool = False) -> Any:
    from gapwatch.workspace import Workspace

    try:
        return Workspace.open(workspace, read_only=read_only)
    except (FileNotFoundError, ValueError) as exc:
        fail(str(exc).splitlines()[0])
        raise AssertionError from exc  # fail() exits


@click.group("perspectives")
def command() -> None:
    """Perception gaps between customers, front-line employees and leaders, per dimension and silo."""


@command.command("ingest")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--source", default="perceptions", show_default=True, help="Name the rows are stored under.")
@workspace_option
@json_option
def ingest(file: Path, source: str, workspace: Path, as_json: bool) -> None:
    """Store a perception survey file (CSV, CSV.gz or Parquet): one row per answer with respondent_id,
    perspective, silo, dimension, item, kind (E/P), score, answered_at."""
    from gapwatch.insight.perspectives_service import ingest_perceptions
    from gapwatch.insight.tables import TableError

    ws = _open(workspace)
    with ws:
        try:
            counts = ingest_perceptions(ws.store, ws.config, file, source)
        except TableError as exc:
            fail(str(exc), code=1)
            return
    report_counts(counts.as_dict(), as_json, f" answers from {file.name}")


@command.command("show")
@click.option(
    "--period",
    type=click.Choice(["month", "quarter"]),
    default=None,
    help="Default: the workspace's perspectives.period.",
)
@click.option("--pooled", is_flag=True, help="All periods as one (the most precise gaps).")
@click.option("--silo", default=None, help="Only this silo.")
@workspace_option
@json_option
def show(period: str | None, pooled: bool, silo: str | None, workspace: Path, as_json: bool) -> None:
    """Each perspective's score and the gaps (leader − customer, employee − customer, P − E) with 95%
    intervals; flags gaps that are significant and widening."""
    from gapwatch.insight.perspectives_service import perspectives_report

    ws = _open(workspace, read_only=True)
    with ws:
        report = perspectives_report(ws.store.reader(), ws.config, period=period, pooled=pooled)
    if silo is not None:
        report.scores = [s for s in report.scores if s.silo == silo]
        report.gaps = [g for g in report.gaps if g.silo == silo]
    if as_json:
        emit_json(report.as_dict())
        return
    _print(report)


def _fmt(v: float | None) -> str:
    return "–" if v is None else f"{v:+.2f}"


def _print(report: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not report.answers:
        console.print("no perception answers stored yet (gapwatch perspectives ingest FILE)")
        return
    table = Table(title=f"Perception gaps ({report.answers:,} answers; respondents {report.respondents})")
    for col in ("period", "silo", "dimension", "gap", "estimate", "95% interval", "n", "flag"):
        table.add_column(col, justify="right" if col in ("estimate", "n") else "left")
    for g in report.gaps:
        flag = ("widening" if g.widening else "significant") if g.significant else ""
        table.add_row(
            g.period,
            g.silo,
            g.dimension,
            g.gap,
            _fmt(g.estimate),
            f"{_fmt(g.low)} … {_fmt(g.high)}",
            f"{g.n[0]}/{g.n[1]}",
            f"[red]{flag}[/]" if g.widening else flag,
        )
    console.print(table)
