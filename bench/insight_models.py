"""Benchmark: gapwatch's outcome model against tuned gradient boosting on real survey tables.

    .venv/bin/python bench/insight_models.py [--sets airline,telco,...] [--search 20] [--repeats 1]

For each data set in ../shared/data (those present), the rows are split into train and
held-out test parts (5 stratified folds under 20,000 rows, else one 80/20 split; ``--repeats``
repeats with other seeds) and every model is fitted on the train part only:

- ``gapwatch``: ``gapwatch.insight.flat.predict_files`` on the two parts written as CSV (the
  same path as ``gapwatch predict --train --test``);
- ``hgb-default``: scikit-learn's HistGradientBoostingClassifier, defaults;
- ``hgb-tuned``: the same, tuned by RandomizedSearchCV (``--search`` draws, 3-fold CV, log-loss)
  over learning rate, leaves, leaf size, L2 and feature sampling, with early stopping;
- ``lgbm-tuned``: LightGBM tuned the same way (when installed; it is a dev extra);
- ``logistic``: LogisticRegressionCV on gapwatch's spline basis.

The baselines get gapwatch's typed features (categories as codes), so they differ only in the
model. Prints ROC AUC, Brier and log-loss (mean over splits) and CPU seconds per fit. Every
model runs on one thread, so a busy machine changes the wall time more than the comparison.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
from scipy.stats import loguniform, randint, uniform
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegressionCV
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score
from sklearn.model_selection import RandomizedSearchCV, StratifiedKFold, train_test_split

from gapwatch.insight.encode import Basis, Encoder, Features
from gapwatch.insight.flat import predict_files
from gapwatch.insight.outcome import target
from gapwatch.insight.tables import read_flat, type_columns

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
Floats = Any


def _olist(tmp: Path) -> Path:
    """Olist orders: a bad review (1-2) from what is known at delivery (no review columns, no votes)."""
    t = read_flat(SHARED / "olist_classified_reviews" / "olist_classified_public_dataset.csv").table
    score = pc.cast(t.column("review_score"), pa.float64())
    keep = [c for c in t.column_names if not c.startswith(("votes_", "most_voted", "review_"))]
    out = t.select(keep).append_column("bad_review", pc.if_else(pc.less_equal(score, 2), "yes", "no"))
    path = tmp / "olist.csv"
    pcsv.write_csv(out, path)
    return path


def _servqual(tmp: Path) -> Path:
    t = read_flat(SHARED / "servqual_kiosk_korea_2019" / "kiosk_servqual_en.csv").table
    keep = [c for c in t.column_names if c.startswith("sq")] + [
        "gender",
        "kiosk_use_frequency",
        "recommend_intention",
    ]
    path = tmp / "servqual.csv"
    pcsv.write_csv(t.select(keep), path)
    return path


SETS: dict[str, tuple[Any, str, str | None]] = {
    "airline": (lambda tmp: SHARED / "airline_passenger_satisfaction" / "train.csv.gz", "satisfaction", None),
    "telco": (lambda tmp: SHARED / "telco_customer_churn" / "Telco-Customer-Churn.csv", "Churn", None),
    "olist": (_olist, "bad_review", "yes"),
    "servqual": (_servqual, "recommend_intention", "<=3"),
    "restaurant": (
        lambda tmp: SHARED / "restaurant_consumer_ratings_uci" / "rating_final.csv",
        "rating",
        "2",
    ),
    "somerville": (
        lambda tmp: SHARED / "somerville_happiness_survey_uci" / "SomervilleHappinessSurvey2015.csv",
        "D",
        None,
    ),
}


def _features(
    table: pa.Table, outcome: str, train: np.ndarray, test: np.ndarray
) -> tuple[Features, Features]:
    tr, te = table.take(pa.array(train)), table.take(pa.array(test))
    ctr, cte = type_columns(tr, skip=(outcome,)), type_columns(te, skip=(outcome,))
    enc = Encoder().fit(ctr)
    return enc.transform(ctr, tr.num_rows), enc.transform(cte, te.num_rows)


def _hgb_tuned(f: Features, y: Floats, draws: int, seed: int) -> Any:
    space = {
        "learning_rate": loguniform(0.01, 0.3),
        "max_leaf_nodes": randint(4, 128),
        "min_samples_leaf": randint(2, 200),
        "l2_regularization": loguniform(1e-3, 10),
        "max_features": uniform(0.3, 0.7),
    }
    base = HistGradientBoostingClassifier(
        categorical_features=f.categorical if f.categorical.any() else None,
        max_iter=2000,
        early_stopping=True,
        validation_fraction=0.15,
        n_iter_no_change=30,
        random_state=seed,
    )
    search = RandomizedSearchCV(base, space, n_iter=draws, cv=3, scoring="neg_log_loss", random_state=seed)
    return search.fit(f.x, y)


def _lgbm_tuned(f: Features, y: Floats, draws: int, seed: int) -> Any:
    import lightgbm as lgb

    space = {
        "learning_rate": loguniform(0.01, 0.3),
        "num_leaves": randint(4, 128),
        "min_child_samples": randint(2, 200),
        "reg_lambda": loguniform(1e-3, 10),
        "colsample_bytree": uniform(0.3, 0.7),
        "subsample": uniform(0.5, 0.5),
        "n_estimators": randint(50, 1500),
    }
    base = lgb.LGBMClassifier(subsample_freq=1, verbose=-1, random_state=seed, n_jobs=1)
    search = RandomizedSearchCV(base, space, n_iter=draws, cv=3, scoring="neg_log_loss", random_state=seed)
    cats = [int(i) for i in np.flatnonzero(f.categorical)]
    return search.fit(f.x, y, categorical_feature=cats or "auto")


def _logistic(ftr: Features, y: Floats, fte: Features) -> Floats:
    basis = Basis().fit(ftr)
    ztr, _ = basis.transform(ftr)
    zte, _ = basis.transform(fte)
    model = LogisticRegressionCV(Cs=10, cv=5, scoring="neg_log_loss", max_iter=2000).fit(ztr, y)
    return model.predict_proba(zte)[:, 1]


def _run(
    name: str, tmp: Path, models: list[str], draws: int, repeats: int
) -> dict[str, list[tuple[float, ...]]]:
    make, outcome, positive = SETS[name]
    path = make(tmp)
    table = read_flat(path).table
    spec = target(table.column(outcome).to_pylist(), positive, outcome)
    known = np.flatnonzero(spec.known)
    table, y = table.take(pa.array(known)), spec.y[known]
    n = y.size
    results: dict[str, list[tuple[float, ...]]] = {}
    for r in range(repeats):
        if n >= 20_000:
            splits = [train_test_split(np.arange(n), test_size=0.2, stratify=y, random_state=r)]
        else:
            splits = list(StratifiedKFold(5, shuffle=True, random_state=r).split(np.zeros(n), y))
        for tr, te in splits:
            ftr, fte = _features(table, outcome, tr, te)
            for model in models:
                t0 = time.process_time()
                p = _fit_predict(model, table, outcome, positive, tr, te, ftr, fte, y, draws, r, tmp)
                if p is None:
                    continue
                sec = time.process_time() - t0
                yt = y[te]
                results.setdefault(model, []).append(
                    (
                        roc_auc_score(yt, p),
                        brier_score_loss(yt, p),
                        log_loss(yt, np.clip(p, 1e-6, 1 - 1e-6)),
                        sec,
                    )
                )
    return results


def _fit_predict(
    model: str,
    table: pa.Table,
    outcome: str,
    positive: str | None,
    tr: Any,
    te: Any,
    ftr: Features,
    fte: Features,
    y: Floats,
    draws: int,
    seed: int,
    tmp: Path,
) -> Floats | None:
    if model == "gapwatch":
        a, b = tmp / "train.csv", tmp / "test.csv"
        pcsv.write_csv(table.take(pa.array(tr)), a)
        pcsv.write_csv(table.take(pa.array(te)), b)
        return predict_files(a, b, outcome, positive, seed=seed).probability
    if model == "hgb-default":
        m = HistGradientBoostingClassifier(
            categorical_features=ftr.categorical if ftr.categorical.any() else None, random_state=seed
        )
        return m.fit(ftr.x, y[tr]).predict_proba(fte.x)[:, 1]
    if model == "hgb-tuned":
        return _hgb_tuned(ftr, y[tr], draws, seed).predict_proba(fte.x)[:, 1]
    if model == "lgbm-tuned":
        try:
            return _lgbm_tuned(ftr, y[tr], draws, seed).predict_proba(fte.x)[:, 1]
        except ImportError:
            return None
    return _logistic(ftr, y[tr], fte)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--models", default="gapwatch,hgb-default,hgb-tuned,lgbm-tuned,logistic")
    parser.add_argument("--search", type=int, default=20, help="random-search draws of the tuned baselines")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    if not SHARED.is_dir():
        sys.exit(f"no shared data at {SHARED}")
    print(f"{'data set':11} {'model':12} {'ROC AUC':>15} {'Brier':>7} {'log-loss':>8} {'CPU s/fit':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.sets.split(","):
            res = _run(name, Path(tmp), args.models.split(","), args.search, args.repeats)
            for model, rows in res.items():
                a = np.array(rows)
                print(
                    f"{name:11} {model:12} {a[:, 0].mean():.4f} ± {a[:, 0].std():.4f} {a[:, 1].mean():7.4f} "
                    f"{a[:, 2].mean():8.4f} {a[:, 3].mean():9.1f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
