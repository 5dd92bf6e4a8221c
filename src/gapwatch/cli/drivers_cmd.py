"""`gapwatch drivers`: which touchpoints explain the outcome, with bootstrap intervals.

``--data FILE --outcome COLUMN`` analyses a flat survey table (one row per respondent);
``--workspace`` analyses a workspace's moments of truth against its survey outcome.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from gapwatch.cli.common import emit_json, fail, json_option, workspace_option


def _print_drivers(rows: list[tuple[str, float, tuple[float, float]]], title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for col, justify in (
        ("#", "right"),
        ("driver", "left"),
        ("share", "right"),
        ("95% interval", "right"),
        ("", "left"),
    ):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    top = max((r[1] for r in rows), default=1.0) or 1.0
    for i, (name, share, (lo, hi)) in enumerate(rows, 1):
        bar = "█" * max(1, round(24 * share / top)) if share > 0 else ""
        table.add_row(str(i), name or "(unnamed)", f"{share:.1%}", f"{lo:.1%} – {hi:.1%}", bar)
    Console().print(table)


@click.command("drivers")
@click.option(
    "--data",
    "data",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="A flat survey table (CSV, CSV.gz or Parquet): one row per respondent.",
)
@click.option("--outcome", default=None, help="The outcome column of --data.")
@click.option(
    "--positive",
    default=None,
    help="Positive outcome value(s): 'yes', '1,2' or a comparison such as '<=6'. "
    "Default: the rarer class of a binary outcome; a numeric outcome stays continuous.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Bootstrap resampling follows it.")
@click.option(
    "--replicates",
    type=click.IntRange(10, 10_000),
    default=200,
    show_default=True,
    help="Bootstrap replicates for the 95% intervals.",
)
@workspace_option
@json_option
def command(
    data: Path | None,
    outcome: str | None,
    positive: str | None,
    seed: int,
    replicates: int,
    workspace: Path,
    as_json: bool,
) -> None:
    """Key drivers of an outcome: each feature's share of the explained outcome (summing to 1),
    with 95% bootstrap intervals (relative weights). Without --data: the workspace's moments of
    truth as drivers of its survey outcome, and what-if (a moment's miss rate at its expectation)."""
    if data is None:
        _workspace(workspace, outcome or "nps", positive, seed, replicates, as_json)
        return
    if not outcome:
        fail("--outcome COLUMN is required with --data")
        return
    from gapwatch.insight.flat import OutcomeError, TableError, drivers_of_file

    try:
        found = drivers_of_file(data, outcome, positive, seed=seed, replicates=replicates)
    except (OutcomeError, TableError) as exc:
        fail(str(exc))
        return
    for note in found.notes:
        click.echo(f"note: {note}", err=True)
    r = found.result
    what = f"P({found.target.positive})" if found.target.binary else outcome
    click.echo(
        f"{r.rows:,} rows · {len(r.drivers)} drivers · explained: {r.r2:.3f} "
        f"({'R_O²' if r.binary else 'R²'}) · {r.replicates} bootstrap replicates",
        err=True,
    )
    rows = [(d.name, d.importance, d.ci) for d in r.drivers]
    if as_json:
        emit_json({"drivers": [{"name": n, "importance": s, "ci": [lo, hi]} for n, s, (lo, hi) in rows]})
    else:
        _print_drivers(rows, f"Key drivers of {what}")


def _workspace(
    workspace: Path, outcome: str, positive: str | None, seed: int, replicates: int, as_json: bool
) -> None:
    from gapwatch.insight.drivers_service import workspace_drivers
    from gapwatch.insight.models import load_journey_model
    from gapwatch.workspace import Workspace

    try:
        ws = Workspace.open(workspace, read_only=True)
    except (FileNotFoundError, ValueError) as exc:
        fail(str(exc).splitlines()[0])
        return
    positive = positive if positive is not None else ("<=6" if outcome == "nps" else None)
    with ws:
        try:
            found = workspace_drivers(
                ws.store.reader(),
                ws.config,
                load_journey_model(ws.root),
                outcome=outcome,
                positive=positive,
                seed=seed,
                replicates=replicates,
            )
        except ValueError as exc:
            fail(str(exc))
            return
    rows = [(d.name, d.importance, d.ci) for d in found.drivers.drivers]
    whatif: list[dict[str, Any]] = [
        {
            "moment": w.moment,
            "miss_rate": w.miss_rate,
            "expected_rate": w.expected_rate,
            "change": w.change,
            "ci": [w.low, w.high],
        }
        for w in found.what_if
    ]
    if as_json:
        emit_json(
            {
                "drivers": [{"name": n, "importance": s, "ci": [lo, hi]} for n, s, (lo, hi) in rows],
                "what_if": whatif,
                "answers": found.answers,
                "positive": found.positive,
            }
        )
        return
    _print_drivers(rows, f"Moments of truth driving P({found.positive}) ({found.answers:,} answers)")
    if not whatif:
        click.echo("what-if needs a journey model: gapwatch predict --workspace W --retrain")
        return
    for w in whatif:
        click.echo(
            f"  {w['moment']}: miss rate {w['miss_rate']:.1%} → {w['expected_rate']:.1%}: "
            f"P({found.positive}) {w['change']:+.1%} (95% {w['ci'][0]:+.1%} … {w['ci'][1]:+.1%})"
        )
