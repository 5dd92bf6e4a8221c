"""Survey tables without a workspace: key drivers of a file, and a model from one file scored on another.

The use cases behind ``gapwatch drivers --data`` and ``gapwatch predict --train --test``:
read and type the files (:mod:`~gapwatch.insight.tables`), define the target
(:mod:`~gapwatch.insight.outcome`), encode on the training rows only
(:mod:`~gapwatch.insight.encode`) and run the statistics. Notes for the person running it
(ignored columns and why, rows without an outcome) are returned, not printed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from gapwatch.insight.classifier import OutcomeClassifier
from gapwatch.insight.drivers import DriverResult, key_drivers
from gapwatch.insight.encode import Encoder, Features
from gapwatch.insight.outcome import OutcomeError, Target, target
from gapwatch.insight.scores import binary_scores
from gapwatch.insight.tables import FlatTable, TableError, TypedColumn, read_flat, type_columns

__all__ = [
    "FlatDrivers",
    "FlatModel",
    "FlatPrediction",
    "OutcomeError",
    "TableError",
    "drivers_of_file",
    "fit_file",
    "predict_files",
    "score_file",
]

Floats = npt.NDArray[np.float64]


@dataclass(slots=True)
class FlatDrivers:
    result: DriverResult
    target: Target
    notes: list[str] = field(default_factory=list)


@dataclass(slots=True)
class FlatPrediction:
    auc: float | None
    accuracy: float | None
    brier: float | None
    n_test: int
    n_scored: int  # test rows with a known outcome (the metrics are computed on them)
    probability: Floats
    target: Target
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, float | int | None]:
        """The CLI contract's object: ``auc``, ``accuracy``, ``brier``, ``n_test``."""
        return {"auc": self.auc, "accuracy": self.accuracy, "brier": self.brier, "n_test": self.n_test}


def _labels(table: pa.Table, column: str) -> list[str | None]:
    values = table.column(column).to_pylist()
    return [None if v is None else (f"{v:g}" if isinstance(v, float) else str(v)) for v in values]


def _outcome_column(flat: FlatTable, outcome: str) -> None:
    if outcome not in flat.names:
        shown = ", ".join(repr(n) for n in flat.names[:12])
        more = f" and {len(flat.names) - 12} more" if len(flat.names) > 12 else ""
        raise OutcomeError(f"{flat.path}: no column {outcome!r} (columns: {shown}{more})")


def _describe(columns: list[TypedColumn]) -> list[str]:
    notes = []
    for c in columns:
        shown = c.name or "(unnamed column)"
        if c.kind in ("ignored", "text"):
            notes.append(f"column {shown!r} ignored: {c.reason}")
        elif c.reason:
            notes.append(f"column {shown!r}: {c.reason}")
    return notes


def _training(path: Path, outcome: str, positive: str | None) -> tuple[Features, Target, Encoder, list[str]]:
    flat = read_flat(path)
    _outcome_column(flat, outcome)
    spec = target(_labels(flat.table, outcome), positive, outcome)
    notes: list[str] = []
    keep = spec.known
    if not keep.all():
        notes.append(f"{int((~keep).sum())} row(s) without an outcome left out of training")
    table = flat.table.filter(pa.array(keep)) if not keep.all() else flat.table
    columns = type_columns(table, skip=(outcome,))
    notes += _describe(columns)
    encoder = Encoder().fit(columns)
    if not encoder.specs_:
        raise OutcomeError(f"{flat.path}: no usable column besides the outcome")
    features = encoder.transform(columns, table.num_rows)
    y = spec.y[keep]
    return features, Target(y, spec.binary, spec.positive, spec.op, spec.values, spec.bound), encoder, notes


def drivers_of_file(
    path: Path, outcome: str, positive: str | None = None, seed: int = 0, replicates: int = 200
) -> FlatDrivers:
    """Key drivers of ``outcome`` in one file (see :func:`~gapwatch.insight.drivers.key_drivers`)."""
    features, spec, _, notes = _training(path, outcome, positive)
    if features.rows < 10:
        raise OutcomeError(f"{path}: {features.rows} row(s) with an outcome; key drivers need at least 10")
    result = key_drivers(features, spec.y, spec.binary, seed=seed, replicates=replicates)
    return FlatDrivers(result, spec, notes)


@dataclass(slots=True)
class FlatModel:
    """A model fitted on a training file, with what scoring another file needs."""

    model: OutcomeClassifier
    encoder: Encoder
    target: Target
    outcome: str
    notes: list[str] = field(default_factory=list)


def fit_file(
    train: Path, outcome: str, positive: str | None = None, seed: int = 0, threads: int | None = 1
) -> FlatModel:
    """Read, type and encode ``train`` and fit the outcome model on it (nothing else is read)."""
    features, spec, encoder, notes = _training(train, outcome, positive)
    if not spec.binary:
        raise OutcomeError(
            f"outcome {outcome!r} is numeric with many values; say which values are positive with "
            "--positive (e.g. '<=6' or '1,2')"
        )
    if min(int(spec.y.sum()), int((1 - spec.y).sum())) < 2:
        raise OutcomeError(f"{train}: the training rows need at least two of each class")
    model = OutcomeClassifier(seed=seed, threads=threads).fit(features, spec.y)
    return FlatModel(model, encoder, spec, outcome, notes)


def score_file(fitted: FlatModel, test: Path) -> FlatPrediction:
    """Predict every row of ``test``; score those with an outcome."""
    outcome, spec, notes = fitted.outcome, fitted.target, list(fitted.notes)
    flat = read_flat(test)
    columns = type_columns(flat.table, skip=(outcome,))
    test_features = fitted.encoder.transform(columns, flat.rows)
    prob = fitted.model.predict_proba(test_features)
    if outcome in flat.names:
        y = spec.apply(_labels(flat.table, outcome))
    else:
        notes.append(f"{flat.path} has no column {outcome!r}: predictions only, no scores")
        y = np.full(flat.rows, np.nan)
    known = ~np.isnan(y)
    if known.sum() < flat.rows and outcome in flat.names:
        notes.append(f"{int((~known).sum())} test row(s) without an outcome: predicted, not scored")
    auc, acc, brier = binary_scores(y[known], prob[known])
    return FlatPrediction(auc, acc, brier, flat.rows, int(known.sum()), prob, spec, notes)


def predict_files(
    train: Path, test: Path, outcome: str, positive: str | None = None, seed: int = 0, threads: int | None = 1
) -> FlatPrediction:
    """Fit on ``train`` only; predict every row of ``test`` and score those with an outcome."""
    return score_file(fit_file(train, outcome, positive, seed, threads), test)
