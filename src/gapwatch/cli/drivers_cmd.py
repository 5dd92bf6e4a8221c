"""`gapwatch drivers`: which touchpoints explain the outcome, with bootstrap intervals.

``--data FILE --outcome COLUMN`` analyses a flat survey table (one row per respondent);
``--workspace`` analyses a workspace's moments of truth against its survey outcome.
"""

from __future__ import annotations

from pathlib import Path

import click

from gapwatch.cli.common import emit_json, fail, json_option


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
@json_option
def command(
    data: Path | None, outcome: str | None, positive: str | None, seed: int, replicates: int, as_json: bool
) -> None:
    """Key drivers of an outcome: each feature's share of the explained outcome (summing to 1),
    with 95% bootstrap intervals (relative weights)."""
    if data is None:
        fail("give --data FILE --outcome COLUMN")
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
