"""Outcome prediction during the journey: train, evaluate on later answers, score, list at-risk customers.

- **Training** (a separate step, ``retrain``): every customer with an outcome answer gives
  snapshots of their journey taken just before the answer and 7, 21 and 45 days earlier, each
  labelled with the answer (a detractor: NPS 0–6, by default). The model is gapwatch's stacked
  classifier (customers kept whole within folds); a character n-gram text model is trained on
  the same customers' comments and feeds the journey features.
- **Evaluation** (``evaluate``): the answers are split in time: the model learns from the first
  70 % and is judged on the later 30 %, with features built only from events before each
  snapshot (nothing from the future). It reports ROC AUC and a reliability table at the answer,
  and the **lead time**: the flag threshold is chosen on the last quarter of the training period
  (by a model fitted on its first three quarters) as the lowest reaching the chosen precision;
  a test customer is flagged on the first day their re-scored risk crosses it, and the lead time
  is the days from that flag to a detractor's answer. The precision reached on the test period
  is reported beside it.
- **Scoring** (``score_customers``): a stored model scores customers from their events so far;
  a new event re-scores at once, without retraining. The reasons are the moments whose gaps
  raise the risk most: the drop in risk if that moment had gone as expected.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from gapwatch.insight.classifier import OutcomeClassifier
from gapwatch.insight.journey import JourneyEvents, Snapshots, snapshots
from gapwatch.insight.outcome import Target, target
from gapwatch.insight.scores import Reliability, binary_scores, reliability
from gapwatch.insight.text.learned import TextModel

__all__ = [
    "JourneyData",
    "JourneyEvaluation",
    "JourneyModel",
    "Risk",
    "evaluate",
    "load_data",
    "score_customers",
    "train",
]

Floats = npt.NDArray[np.float64]
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LOOKBACK_DAYS = (0.0, 7.0, 21.0, 45.0)
MIN_ANSWERS = 40


@dataclass(frozen=True, slots=True)
class JourneyData:
    events: JourneyEvents
    texts: list[str | None]  # per event: the comment (text rows) or None
    answer_customer: npt.NDArray[np.object_]
    answer_time: Floats  # days since 1970
    answer_value: list[str]


@dataclass(slots=True)
class JourneyModel:
    """What ``retrain`` stores: the classifier, the text model, the threshold and how they were made."""

    classifier: OutcomeClassifier
    text: TextModel | None
    moments: tuple[str, ...]
    target: Target
    outcome: str
    threshold: float
    precision: float
    trained_at: dt.datetime
    answers: int
    metrics: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class JourneyEvaluation:
    outcome: str
    positive: str | None
    cut: dt.datetime
    train_answers: int
    test_answers: int
    positives_test: int
    auc: float | None
    brier: float | None
    accuracy: float | None
    auc_without_text: float | None
    calibration: Reliability
    precision_target: float
    threshold: float
    precision_reached: float | None
    flagged: int
    detractors_flagged: int
    lead_days_median: float | None
    lead_days_quartiles: tuple[float, float] | None

    def as_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        out = asdict(self)
        out["cut"] = self.cut.isoformat()
        return out


def _days(ts: list[dt.datetime]) -> Floats:
    return np.array([(t - EPOCH).total_seconds() / 86400.0 for t in ts], dtype=np.float64)


def load_data(con: Any, outcome: str = "nps", customers: list[str] | None = None) -> JourneyData:
    """Experiences, comments and outcome answers of identified customers, from the store.

    ``customers`` (keys) reads only theirs: a customer's snapshot needs only their own events, so
    scoring one customer reads one customer.
    """
    from gapwatch.adapters.duckdb_text import TEXT_SOURCE

    only, keys = "", list(customers or [])
    if customers is not None:
        only = f" AND customer_key IN ({', '.join('?' for _ in keys) or 'NULL'})"
    exp = con.execute(
        "SELECT customer_key, occurred_at, moment, gap_norm, status FROM experiences "
        # a full order: among events at the same instant, which counts as the last must not vary
        f"WHERE customer_key IS NOT NULL AND source <> ?{only} "
        "ORDER BY customer_key, occurred_at, moment, metric, source, event_id",
        [TEXT_SOURCE, *keys],
    ).fetchall()
    has_signals = bool(
        con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'text_signals'"
        ).fetchall()[0][0]
    )
    join = (
        "LEFT JOIN text_signals t ON t.source = c.source AND t.event_id = c.event_id"
        if has_signals
        else "LEFT JOIN (SELECT NULL::VARCHAR AS source, NULL::VARCHAR AS event_id, "
        "NULL::VARCHAR AS sentiment_label,"
        " NULL::DOUBLE AS sentiment, NULL::VARCHAR[] AS intents) t ON false"
    )
    com = con.execute(
        "SELECT c.customer_key, c.occurred_at, c.moment, c.text, t.sentiment_label, t.sentiment, "
        "t.intents FROM "
        "(SELECT source, min(event_id) AS event_id, customer_key, occurred_at, moment, text FROM experiences "
        f"WHERE text IS NOT NULL AND customer_key IS NOT NULL AND source <> ?{only} GROUP BY source, "
        f"customer_key, occurred_at, moment, text) c {join} "
        "ORDER BY c.customer_key, c.occurred_at, c.moment, c.source, c.event_id",
        [TEXT_SOURCE, *keys],
    ).fetchall()
    ans = con.execute(
        "SELECT customer_key, min(occurred_at), arg_min(value, occurred_at) FROM outcomes "
        f"WHERE outcome = ? AND customer_key IS NOT NULL{only} GROUP BY customer_key ORDER BY 2",
        [outcome, *keys],
    ).fetchall()
    n_e, n_c = len(exp), len(com)
    intents = [set(r[6] or []) for r in com]
    events = JourneyEvents(
        customer=np.array([r[0] for r in exp] + [r[0] for r in com], dtype=object),
        time=_days([r[1] for r in exp] + [r[1] for r in com]),
        moment=np.array([r[2] for r in exp] + [r[2] for r in com], dtype=object),
        gap_norm=np.array([np.nan if r[3] is None else r[3] for r in exp] + [np.nan] * n_c, dtype=np.float64),
        missed=np.array([r[4] == -1 for r in exp] + [False] * n_c, dtype=bool),
        is_text=np.r_[np.zeros(n_e, dtype=bool), np.ones(n_c, dtype=bool)],
        negative=np.array(
            [np.nan] * n_e + [np.nan if r[4] is None else float(r[4] == "negative") for r in com],
            dtype=np.float64,
        ),
        sentiment=np.array(
            [np.nan] * n_e + [np.nan if r[5] is None else r[5] for r in com], dtype=np.float64
        ),
        learned=np.full(n_e + n_c, np.nan),
        complaint=np.array([False] * n_e + ["complaint" in i for i in intents], dtype=bool),
        cancel=np.array([False] * n_e + ["cancel" in i for i in intents], dtype=bool),
    )
    texts: list[str | None] = [None] * n_e + [r[3] for r in com]
    return JourneyData(
        events,
        texts,
        np.array([r[0] for r in ans], dtype=object),
        _days([r[1] for r in ans]),
        [f"{r[2]:g}" for r in ans],
    )


def _with_text(data: JourneyData, model: TextModel | None) -> JourneyEvents:
    e = data.events
    learned = np.full(e.time.size, np.nan)
    if model is not None:
        idx = np.flatnonzero(e.is_text)
        learned[idx] = model.score([data.texts[i] for i in idx])
    return JourneyEvents(
        e.customer,
        e.time,
        e.moment,
        e.gap_norm,
        e.missed,
        e.is_text,
        e.negative,
        e.sentiment,
        learned,
        e.complaint,
        e.cancel,
    )


def _text_model(
    data: JourneyData, customers: set[str], label: dict[str, float], before: dict[str, float], seed: int
) -> TextModel | None:
    e = data.events
    idx = [
        i
        for i in np.flatnonzero(e.is_text)
        if e.customer[i] in customers and e.time[i] < before[e.customer[i]]
    ]
    texts = [str(data.texts[i]) for i in idx]
    y = np.array([label[e.customer[i]] for i in idx], dtype=np.float64)
    try:
        return TextModel(seed=seed).fit(texts, y)
    except ValueError:
        return None  # too few comments with both outcomes: no learned text signal


def _training_rows(
    snaps: Snapshots,
    customers: npt.NDArray[np.object_],
    times: Floats,
    y: Floats,
    lookback: tuple[float, ...] = LOOKBACK_DAYS,
) -> tuple[npt.NDArray[np.int64], Floats, npt.NDArray[np.int64]]:
    rows, labels, groups = [], [], []
    for back in lookback:
        found = snaps.last_before(customers, times - back)
        keep = found >= 0
        rows.append(found[keep])
        labels.append(y[keep])
        groups.append(np.flatnonzero(keep))
    return np.concatenate(rows), np.concatenate(labels), np.concatenate(groups).astype(np.int64)


def train(
    data: JourneyData,
    outcome: str = "nps",
    positive: str | None = "<=6",
    seed: int = 0,
    precision: float = 0.8,
    customers: npt.NDArray[np.bool_] | None = None,
) -> JourneyModel:
    """Fit the journey model on the answers selected by ``customers`` (all by default)."""
    use = np.ones(data.answer_customer.size, dtype=bool) if customers is None else customers
    if int(use.sum()) < MIN_ANSWERS:
        raise ValueError(f"{int(use.sum())} {outcome} answers: at least {MIN_ANSWERS} are needed to train")
    spec = target(data.answer_value, positive, outcome)
    if not spec.binary:
        raise ValueError("the journey model predicts a binary outcome: give positive (e.g. '<=6')")
    y_all = spec.y
    who, when, y = data.answer_customer[use], data.answer_time[use], y_all[use]
    if who.size < MIN_ANSWERS or y.sum() < 10 or (1 - y).sum() < 10:
        raise ValueError(
            f"{who.size} answers ({int(y.sum())} positive): at least 40 with 10 of each class are needed"
        )
    # threshold: a model on the first three quarters, the flag level chosen on the last quarter
    order = np.argsort(when)
    cut = order[: int(0.75 * order.size)]
    late = order[int(0.75 * order.size) :]
    early_model, early_text, snaps_early = _fit(data, who[cut], when[cut], y[cut], seed)
    threshold, reached = _threshold(early_model, snaps_early, who[late], when[late], y[late], precision)
    model, text, snaps = _fit(data, who, when, y, seed)
    del early_text, snaps
    return JourneyModel(
        model,
        text,
        _moments(data),
        spec,
        outcome,
        threshold,
        reached if reached is not None else float("nan"),
        dt.datetime.now(dt.UTC),
        int(who.size),
    )


def _moments(data: JourneyData) -> tuple[str, ...]:
    e = data.events
    return tuple(sorted({str(m) for m in e.moment[~e.is_text]}))


def _fit(
    data: JourneyData, who: npt.NDArray[np.object_], when: Floats, y: Floats, seed: int
) -> tuple[OutcomeClassifier, TextModel | None, Snapshots]:
    label = {c: float(v) for c, v in zip(who, y, strict=True)}
    before = {c: float(t) for c, t in zip(who, when, strict=True)}
    text = _text_model(data, set(label), label, before, seed)
    snaps = snapshots(_with_text(data, text), _moments(data))
    rows, labels, groups = _training_rows(snaps, who, when, y)
    model = OutcomeClassifier(seed=seed).fit(snaps.features.take(rows), labels, groups=groups)
    return model, text, snaps


def _flags(
    model: OutcomeClassifier,
    snaps: Snapshots,
    who: npt.NDArray[np.object_],
    when: Floats,
    threshold: float | None = None,
) -> tuple[Floats, Floats]:
    """Highest risk before the answer and the time it first crossed ``threshold`` (NaN: never)."""
    index: dict[object, int] = {c: i for i, c in enumerate(who)}
    rows = np.array(
        [i for i, c in enumerate(snaps.customer) if c in index and snaps.time[i] < when[index[c]]],
        dtype=np.int64,
    )
    peak = np.full(who.size, np.nan)
    first = np.full(who.size, np.nan)
    if rows.size == 0:
        return peak, first
    risk = model.predict_proba(snaps.features.take(rows))
    for r, p in zip(rows, risk, strict=True):
        j = index[snaps.customer[r]]
        t = snaps.time[r]
        peak[j] = p if np.isnan(peak[j]) else max(peak[j], p)
        if threshold is not None and p >= threshold and (np.isnan(first[j]) or t < first[j]):
            first[j] = t
    return peak, first


def _threshold(
    model: OutcomeClassifier,
    snaps: Snapshots,
    who: npt.NDArray[np.object_],
    when: Floats,
    y: Floats,
    precision: float,
) -> tuple[float, float | None]:
    """Lowest flag level whose customers (flagged at any time before their answer) reach ``precision``."""
    peak, _ = _flags(model, snaps, who, when)
    ok = ~np.isnan(peak)
    levels = np.unique(peak[ok])[::-1]
    best, reached = float(levels[0]) if levels.size else 0.5, None
    for level in levels:
        flagged = ok & (peak >= level)
        prec = float(y[flagged].mean())
        if prec >= precision:
            best, reached = float(level), prec
    return best, reached


def evaluate(
    data: JourneyData,
    outcome: str = "nps",
    positive: str | None = "<=6",
    precision: float = 0.8,
    seed: int = 0,
    train_share: float = 0.7,
) -> JourneyEvaluation:
    """Learn from the earlier answers, judge on the later ones (see the module docstring)."""
    spec = target(data.answer_value, positive, outcome)
    order = np.argsort(data.answer_time)
    n_train = int(train_share * order.size)
    cut_time = float(data.answer_time[order[n_train]]) if order.size > n_train else float("inf")
    first = data.answer_time < cut_time
    model = train(data, outcome, positive, seed, precision, customers=first)
    test = ~first
    who, when, y = data.answer_customer[test], data.answer_time[test], spec.y[test]
    # features of the test customers: the text model learnt on the training answers only
    snaps = snapshots(_with_text(data, model.text), model.moments)
    at = snaps.last_before(who, when)
    have = at >= 0
    prob = np.full(who.size, np.nan)
    prob[have] = model.classifier.predict_proba(snaps.features.take(at[have]))
    auc, acc, brier = binary_scores(y[have], prob[have])
    _, first_flag = _flags(model.classifier, snaps, who, when, model.threshold)
    flagged = ~np.isnan(first_flag)
    reached = float(y[flagged].mean()) if flagged.any() else None
    lead = (when - first_flag)[flagged & (y == 1)]
    no_text = _auc_without_text(data, first, spec, (who, when, y), seed)
    return JourneyEvaluation(
        outcome,
        spec.positive,
        EPOCH + dt.timedelta(days=cut_time) if np.isfinite(cut_time) else EPOCH,
        int(first.sum()),
        int(test.sum()),
        int(y.sum()),
        auc,
        brier,
        acc,
        no_text,
        reliability(y[have], prob[have]),
        precision,
        model.threshold,
        reached,
        int(flagged.sum()),
        int((flagged & (y == 1)).sum()),
        float(np.median(lead)) if lead.size else None,
        (float(np.quantile(lead, 0.25)), float(np.quantile(lead, 0.75))) if lead.size else None,
    )


def _auc_without_text(
    data: JourneyData,
    first: npt.NDArray[np.bool_],
    spec: Target,
    test: tuple[npt.NDArray[np.object_], Floats, Floats],
    seed: int,
) -> float | None:
    """The same evaluation with every comment left out (what the text adds)."""
    e = data.events
    keep = ~e.is_text
    if keep.all():
        return None
    fields = JourneyEvents.__dataclass_fields__
    bare = JourneyData(
        JourneyEvents(*(getattr(e, f)[keep] for f in fields)),
        [t for t, k in zip(data.texts, keep, strict=True) if k],
        data.answer_customer,
        data.answer_time,
        data.answer_value,
    )
    model, _, snaps = _fit(bare, data.answer_customer[first], data.answer_time[first], spec.y[first], seed)
    who, when, y = test
    at = snaps.last_before(who, when)
    have = at >= 0
    prob = model.predict_proba(snaps.features.take(at[have]))
    return binary_scores(y[have], prob)[0]


@dataclass(frozen=True, slots=True)
class Reason:
    moment: str
    silo: str | None
    misses: int
    worst_gap: float
    risk_drop: float  # risk minus the risk had this moment gone as expected


@dataclass(frozen=True, slots=True)
class Risk:
    customer_key: str
    risk: float
    flagged: bool
    as_of: dt.datetime
    reasons: list[Reason]


def _neutral(features: Any, moment: str) -> Any:
    """The same snapshots with ``moment`` as if it had gone as expected (no misses there)."""
    names = features.names
    x = features.x.copy()
    for part, value in (("missed", 0.0), ("worst_gap", 0.0), ("days_since_miss", 365.0)):
        name = f"{moment}: {part}"
        if name in names:
            x[:, names.index(name)] = value
    return type(features)(x, names, features.categorical, features.levels)


def score_customers(
    data: JourneyData,
    model: JourneyModel,
    silo_of: dict[str, str],
    *,
    customers: list[str] | None = None,
    reasons: int = 3,
    explain_all: bool = True,
) -> list[Risk]:
    """Each customer's risk from their events so far (latest snapshot) and the moments behind it.

    ``explain_all=False`` gives reasons to flagged customers only: a reason costs one more model
    evaluation per moment the customer missed, and an at-risk list needs none for the others.
    """
    snaps = snapshots(_with_text(data, model.text), model.moments)
    if snaps.customer.size == 0:
        return []
    answered = set(data.answer_customer.tolist())
    last: dict[object, int] = {}
    for i, (c, t) in enumerate(zip(snaps.customer, snaps.time, strict=True)):
        if c not in last or t >= snaps.time[last[c]]:
            last[c] = i
    wanted = customers if customers is not None else [c for c in last if c not in answered]
    rows = np.array([last[c] for c in wanted if c in last], dtype=np.int64)
    if rows.size == 0:
        return []
    feats = snaps.features.take(rows)
    risk = model.classifier.predict_proba(feats)
    explained = np.ones(rows.size, dtype=bool) if explain_all else risk >= model.threshold
    found: list[list[Reason]] = [[] for _ in range(rows.size)]
    for m in model.moments:
        col = f"{m}: missed"
        if col not in feats.names:
            continue
        misses = feats.x[:, feats.names.index(col)]
        some = np.flatnonzero(explained & (misses > 0))
        if some.size == 0:
            continue
        part = feats.take(some)
        drop = risk[some] - model.classifier.predict_proba(_neutral(part, m))
        worst = part.x[:, part.names.index(f"{m}: worst_gap")]
        for k, row in enumerate(some.tolist()):
            if drop[k] > 0.005:
                reason = Reason(m, silo_of.get(m), int(misses[row]), float(worst[k]), float(drop[k]))
                found[row].append(reason)
    out = []
    for j, r in enumerate(rows):
        found[j].sort(key=lambda x: -x.risk_drop)
        when = EPOCH + dt.timedelta(days=float(snaps.time[r]))
        out.append(
            Risk(
                str(snaps.customer[r]),
                float(risk[j]),
                bool(risk[j] >= model.threshold),
                when,
                found[j][:reasons],
            )
        )
    out.sort(key=lambda x: -x.risk)
    return out
