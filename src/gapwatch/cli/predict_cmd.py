"""`gapwatch predict`: an outcome model fitted on one file and judged on another, or a workspace's risk.

``--train FILE --test FILE --outcome COLUMN`` fits on the training file only and prints the
test file's ROC AUC, accuracy (at 0.5), Brier score and row count.

With a workspace: ``--evaluate`` learns from earlier survey answers and judges later ones (AUC,
calibration, lead time at a precision); ``--retrain`` fits the model on every answer and stores
it; without either, the stored model scores the customers still on their journey and lists
those at risk, with the moments behind their risk (``--silo`` for one silo's list).
"""

from __future__ import annotations

from pathlib import Path

import click

from gapwatch.cli.common import emit_json, fail, json_option, workspace_option


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
@click.option(
    "--outcome", default=None, help="The outcome column (a workspace: the outcome name, default nps)."
)
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
@click.option(
    "--threads",
    type=click.IntRange(1, 256),
    default=1,
    show_default=True,
    help="Threads for gradient boosting (one is fastest on a busy machine).",
)
@workspace_option
@click.option("--evaluate", "evaluate", is_flag=True, help="Workspace: time-split evaluation with lead time.")
@click.option("--retrain", is_flag=True, help="Workspace: fit on every answer and store the model.")
@click.option(
    "--precision",
    type=click.FloatRange(0.5, 0.99),
    default=0.8,
    show_default=True,
    help="Workspace: flag customers at the risk level reaching this precision.",
)
@click.option(
    "--silo", default=None, help="Workspace: only the at-risk customers whose reasons lie in this silo."
)
@click.option(
    "--limit", type=click.IntRange(1, 10_000), default=50, show_default=True, help="At-risk rows to show."
)
@json_option
def command(
    train: Path | None,
    test: Path | None,
    outcome: str | None,
    positive: str | None,
    seed: int,
    predictions: Path | None,
    threads: int,
    workspace: Path,
    evaluate: bool,
    retrain: bool,
    precision: float,
    silo: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Fit an outcome model on --train and judge it on --test (ROC AUC, accuracy, Brier); or, on a
    workspace, evaluate / retrain the journey model and list the customers at risk."""
    if train is None and test is None:
        from gapwatch.cli.predict_workspace import run

        run(workspace, outcome, positive, seed, evaluate, retrain, precision, silo, limit, as_json)
        return
    if train is None or test is None or not outcome:
        fail("give --train FILE --test FILE --outcome COLUMN")
        return
    from gapwatch.insight.flat import OutcomeError, TableError, predict_files

    try:
        found = predict_files(train, test, outcome, positive, seed=seed, threads=threads)
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
