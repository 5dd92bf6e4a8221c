"""`gapwatch predict`: an outcome model fitted on one file and judged on another.

``--train FILE --test FILE --outcome COLUMN`` fits on the training file only and prints the
test file's ROC AUC, accuracy (at 0.5), Brier score and row count.
"""

from __future__ import annotations

from pathlib import Path

import click

from gapwatch.cli.common import emit_json, fail, json_option


def _fmt(v: float | None, spec: str = ".4f") -> str:
    return "–" if v is None else format(v, spec)


@click.command("predict")
@click.option(
    "--train",
    "train",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Training table (CSV, CSV.gz or Parquet), one row per respondent.",
)
@click.option(
    "--test",
    "test",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Table to predict; scored where it has the outcome column.",
)
@click.option("--outcome", default=None, help="The outcome column.")
@click.option(
    "--positive",
    default=None,
    help="Positive outcome value(s): 'yes', '1,2' or a comparison such as '<=6'. "
    "Default: the rarer class of a binary outcome.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Folds and model randomness follow it.")
@click.option(
    "--predictions",
    "predictions",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write each test row's probability to this CSV (row, probability).",
)
@json_option
def command(
    train: Path | None,
    test: Path | None,
    outcome: str | None,
    positive: str | None,
    seed: int,
    predictions: Path | None,
    as_json: bool,
) -> None:
    """Fit an outcome model on --train and judge it on --test (ROC AUC, accuracy, Brier)."""
    if train is None or test is None or not outcome:
        fail("give --train FILE --test FILE --outcome COLUMN")
        return
    from gapwatch.insight.flat import OutcomeError, TableError, predict_files

    try:
        found = predict_files(train, test, outcome, positive, seed=seed)
    except (OutcomeError, TableError) as exc:
        fail(str(exc))
        return
    for note in found.notes:
        click.echo(f"note: {note}", err=True)
    if predictions is not None:
        _write(predictions, found.probability)
    if as_json:
        emit_json(found.as_dict())
        return
    click.echo(f"positive class: {found.target.positive}")
    click.echo(
        f"test rows {found.n_test:,} (scored {found.n_scored:,}) · ROC AUC {_fmt(found.auc)} · "
        f"accuracy {_fmt(found.accuracy)} · Brier {_fmt(found.brier)}"
    )


def _write(path: Path, probability: object) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pcsv

    p = np.asarray(probability, dtype=np.float64)
    table = pa.table({"row": pa.array(np.arange(1, p.size + 1)), "probability": pa.array(p)})
    try:
        pcsv.write_csv(table, path)
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror}", code=1)
