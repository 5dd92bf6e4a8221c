"""The outcome model: gradient boosting and a spline-logistic model, stacked on held-out rows.

No single learner wins on survey tables: boosted trees find interactions and thresholds in
large files, a penalised logistic model on smooth terms wins on a few hundred respondents
(it is what a careful analyst would fit), and the best answer is often a mix. So both are
fitted, each tuned on held-out rows (cross-fitting: 5 stratified folds, or one 20 % split
when the file is large), and their held-out log-odds are combined as
``logit p = a · (w · boosted + (1 − w) · linear) + b``: ``w`` is chosen on a grid and ``a, b``
recalibrate the mix (Platt scaling), all by held-out log-loss. The final learners are refitted
on every training row, the boosted one for the number of rounds early stopping chose.

Tuning is a small grid chosen from randomised searches on six real survey tables (see
``bench/insight_models.py``), not a search per file, so training stays in seconds to a minute.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupShuffleSplit, StratifiedGroupKFold, StratifiedKFold, train_test_split
from threadpoolctl import threadpool_limits

from gapwatch.insight.encode import Basis, Features

__all__ = ["BOOSTED_GRID", "OutcomeClassifier"]

Floats = npt.NDArray[np.float64]
Index = npt.NDArray[np.int64]

BOOSTED_GRID: tuple[dict[str, float], ...] = (
    {
        "learning_rate": 0.1,
        "max_leaf_nodes": 31,
        "min_samples_leaf": 20,
        "l2_regularization": 0.0,
        "max_features": 1.0,
    },
    {
        "learning_rate": 0.05,
        "max_leaf_nodes": 15,
        "min_samples_leaf": 40,
        "l2_regularization": 1.0,
        "max_features": 0.5,
    },
    {
        "learning_rate": 0.03,
        "max_leaf_nodes": 4,
        "min_samples_leaf": 50,
        "l2_regularization": 1.0,
        "max_features": 0.5,
    },
    {
        "learning_rate": 0.05,
        "max_leaf_nodes": 63,
        "min_samples_leaf": 20,
        "l2_regularization": 1.0,
        "max_features": 0.7,
    },
)
C_GRID = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
WEIGHTS = np.linspace(0.0, 1.0, 21)
LARGE = 30_000  # from here on, one held-out split instead of five folds
EPS = 1e-6


def _logit(p: Floats) -> Floats:
    q = np.clip(p, EPS, 1 - EPS)
    out: Floats = np.log(q / (1 - q))
    return out


def _sigmoid(x: Floats) -> Floats:
    out: Floats = 1.0 / (1.0 + np.exp(-np.clip(x, -35, 35)))
    return out


def _log_loss(y: Floats, p: Floats) -> float:
    q = np.clip(p, EPS, 1 - EPS)
    return float(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q)))


@dataclass(slots=True)
class Choice:
    """What the held-out rows decided."""

    config: int = 0
    rounds: int = 100
    c: float = 1.0
    weight: float = 0.5
    a: float = 1.0
    b: float = 0.0
    losses: dict[str, float] = field(default_factory=dict)


class OutcomeClassifier:
    """A binary outcome model for :class:`~gapwatch.insight.encode.Features`.

    Parameters
    ----------
    seed
        Fold assignment and the boosted model's feature sampling follow it.
    folds
        Folds of the cross-fit for files under 30,000 rows.
    threads
        Threads for the boosted model (OpenMP); ``None``: every core. The default is one:
        boosting synchronises its threads at every split, and on a shared machine one
        descheduled thread stalls the others (a 100,000-row fit measured 20x slower with two
        threads than with one while other jobs ran); below ~30,000 rows threads gain nothing.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(400, 3))
    >>> y = (x[:, 0] - x[:, 1] + rng.logistic(size=400) > 0).astype(float)
    >>> f = Features(x, ("a", "b", "c"), np.zeros(3, bool), ((), (), ()))
    >>> model = OutcomeClassifier(seed=1).fit(f, y)
    >>> p = model.predict_proba(f)
    >>> p.shape, bool(((p > 0.5) == y).mean() > 0.75)
    ((400,), True)
    """

    def __init__(self, seed: int = 0, folds: int = 5, threads: int | None = 1) -> None:
        self.seed = seed
        self.folds = folds
        self.threads = threads

    def _limits(self) -> threadpool_limits:
        # BLAS gets one thread always (small dense solves); OpenMP per ``threads``.
        return threadpool_limits(limits={"blas": 1, **({"openmp": self.threads} if self.threads else {})})

    def fit(
        self, features: Features, y: Floats, groups: npt.NDArray[np.int64] | None = None
    ) -> OutcomeClassifier:
        """Fit on ``features``; rows of one group (one customer's snapshots) stay in one fold."""
        y = np.asarray(y, dtype=np.float64)
        self._groups = groups
        if np.unique(y).size != 2:
            raise ValueError("the outcome must have both classes among the training rows")
        with self._limits():
            self.choice_ = self._choose(features, y)
            self.basis_ = Basis().fit(features)
            z, _ = self.basis_.transform(features)
            self.linear_ = self._linear(self.choice_.c).fit(z, y)
            self.boosted_ = self._boosted(self.choice_.config, features, rounds=self.choice_.rounds)
            self.boosted_.fit(_fillable(features.x), y)
        return self

    def predict_proba(self, features: Features) -> Floats:
        """P(outcome = positive) per row; every row gets one (missing cells are allowed)."""
        with self._limits():
            z, _ = self.basis_.transform(features)
            lin = _logit(self.linear_.predict_proba(z)[:, 1])
            boo = _logit(self.boosted_.predict_proba(features.x)[:, 1])
        c = self.choice_
        return _sigmoid(c.a * (c.weight * boo + (1 - c.weight) * lin) + c.b)

    # -- held-out choice -------------------------------------------------------------------

    def _splits(self, y: Floats) -> list[tuple[Index, Index]]:
        n = y.size
        groups = getattr(self, "_groups", None)
        if groups is not None:
            if n >= LARGE:
                tr, te = next(GroupShuffleSplit(1, test_size=0.2, random_state=self.seed).split(y, y, groups))
                return [(np.asarray(tr), np.asarray(te))]
            k = max(2, min(self.folds, int(min(np.bincount(y.astype(np.int64))))))
            sgk = StratifiedGroupKFold(k, shuffle=True, random_state=self.seed)
            return [(np.asarray(a), np.asarray(b)) for a, b in sgk.split(np.zeros(n), y, groups)]
        if n >= LARGE:
            tr, te = train_test_split(np.arange(n), test_size=0.2, stratify=y, random_state=self.seed)
            return [(np.asarray(tr), np.asarray(te))]
        k = max(2, min(self.folds, int(min(np.bincount(y.astype(np.int64))))))
        skf = StratifiedKFold(k, shuffle=True, random_state=self.seed)
        return [(np.asarray(a), np.asarray(b)) for a, b in skf.split(np.zeros(n), y)]

    def _choose(self, features: Features, y: Floats) -> Choice:
        splits = self._splits(y)
        rows = np.concatenate([te for _, te in splits])
        held = y[rows]
        boosted = np.zeros((len(BOOSTED_GRID), rows.size))
        linear = np.zeros((len(C_GRID), rows.size))
        rounds = np.zeros((len(BOOSTED_GRID), len(splits)))
        at = 0
        for s, (tr, te) in enumerate(splits):
            part, rest = features.take(tr), features.take(te)
            for g in range(len(BOOSTED_GRID)):
                model = self._boosted(g, part).fit(_fillable(part.x), y[tr])
                rounds[g, s] = model.n_iter_
                boosted[g, at : at + te.size] = _logit(model.predict_proba(rest.x)[:, 1])
            basis = Basis().fit(part)
            ztr, _ = basis.transform(part)
            zte, _ = basis.transform(rest)
            for i, c in enumerate(C_GRID):
                lin = self._linear(c).fit(ztr, y[tr])
                linear[i, at : at + te.size] = _logit(lin.predict_proba(zte)[:, 1])
            at += te.size
        return self._combine(held, boosted, linear, rounds, len(splits))

    def _combine(self, held: Floats, boosted: Floats, linear: Floats, rounds: Floats, k: int) -> Choice:
        b_loss = [_log_loss(held, _sigmoid(row)) for row in boosted]
        l_loss = [_log_loss(held, _sigmoid(row)) for row in linear]
        g, i = int(np.argmin(b_loss)), int(np.argmin(l_loss))
        best = Choice(config=g, c=C_GRID[i])
        # the full data has k/(k-1) times the rows of a fold's training part: a few more rounds
        grow = 1.25 if k == 1 else k / (k - 1)
        best.rounds = max(10, round(float(np.median(rounds[g])) * grow))
        best.losses = {"boosted": b_loss[g], "linear": l_loss[i]}
        top = np.inf
        for w in WEIGHTS:
            mix = w * boosted[g] + (1 - w) * linear[i]
            a, b = _platt(mix, held)
            loss = _log_loss(held, _sigmoid(a * mix + b))
            if loss < top - 1e-9:
                top, best.weight, best.a, best.b = loss, float(w), a, b
        best.losses["stacked"] = top
        return best

    # -- learners ----------------------------------------------------------------------------

    def _boosted(
        self, g: int, features: Features, rounds: int | None = None
    ) -> HistGradientBoostingClassifier:
        params: dict[str, Any] = dict(BOOSTED_GRID[g])
        n = features.rows
        params["min_samples_leaf"] = int(max(2, min(params["min_samples_leaf"], n // 20)))
        common: dict[str, Any] = {
            "categorical_features": features.categorical if features.categorical.any() else None,
            "random_state": self.seed,
        }
        if rounds is not None:
            return HistGradientBoostingClassifier(max_iter=rounds, early_stopping=False, **params, **common)
        return HistGradientBoostingClassifier(
            max_iter=2000,
            early_stopping=True,
            validation_fraction=float(min(0.25, max(0.1, 200 / max(n, 1)))),
            n_iter_no_change=30,
            **params,
            **common,
        )

    @staticmethod
    def _linear(c: float) -> LogisticRegression:
        # 500 lbfgs steps were too few for the journey snapshots of a 150,000-people workspace
        return LogisticRegression(C=c, max_iter=2000, tol=1e-5)


def _fillable(x: Floats) -> Floats:
    """``x`` with columns that are wholly missing set to 0 (boosting cannot bin an empty column)."""
    empty = np.isnan(x).all(axis=0)
    if not empty.any():
        return x
    out = x.copy()
    out[:, empty] = 0.0
    return out


def _platt(score: Floats, y: Floats) -> tuple[float, float]:
    """Logistic recalibration ``y ~ a · score + b`` by Newton's method."""
    a, b = 1.0, 0.0
    for _ in range(25):
        p = _sigmoid(a * score + b)
        g = np.array([np.sum((y - p) * score), np.sum(y - p)])
        w = p * (1 - p)
        h = np.array([[np.sum(w * score * score), np.sum(w * score)], [np.sum(w * score), np.sum(w)]])
        h += 1e-9 * np.eye(2)
        step = np.linalg.solve(h, g)
        a, b = a + float(step[0]), b + float(step[1])
        if np.max(np.abs(step)) < 1e-8:
            break
    return a, b
