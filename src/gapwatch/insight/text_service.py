"""Text use cases: analyse a workspace's comments, and summarise them.

:func:`analyse_texts` takes the commented experiences not analysed yet (in batches), gives each
comment its language, lexicon sentiment, rule labels and, when a text model was trained
(``gapwatch predict --workspace … --retrain``), its learned score; stores them in
``text_signals`` and adds the text streams' experiences (``comment_negative`` and one per
configured intent), which detection then charts like any other stream.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from gapwatch.config.schema import WorkspaceConfig
from gapwatch.insight.text.language import LanguageDetector
from gapwatch.insight.text.learned import TextModel
from gapwatch.insight.text.rules import RuleSet
from gapwatch.insight.text.sentiment import label, sentiment

__all__ = ["TextRun", "TextSignal", "analyse_texts", "customer_signals", "text_summary"]

BATCH = 20_000
NEGATIVE_SCORE = 0.5  # a learned P(low outcome) at or above this marks a comment negative when no lexicon can


@dataclass(slots=True)
class TextRun:
    comments: int = 0
    languages: Counter[str] = field(default_factory=Counter)
    sentiments: Counter[str] = field(default_factory=Counter)
    labels: Counter[str] = field(default_factory=Counter)
    stream_rows: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "comments": self.comments,
            "languages": dict(self.languages.most_common()),
            "sentiments": dict(self.sentiments.most_common()),
            "labels": dict(self.labels.most_common()),
            "stream_rows": self.stream_rows,
        }


def analyse_texts(
    store: Any, config: WorkspaceConfig, *, model: TextModel | None = None, now: dt.datetime | None = None
) -> TextRun:
    """Analyse every comment not analysed yet; one transaction per batch of ``BATCH`` comments."""
    from gapwatch.adapters.duckdb_text import pending_comments, write_signals

    settings = config.text
    detector = LanguageDetector(settings.languages)
    rules = RuleSet(settings.rules)
    run = TextRun()
    stamp = now or dt.datetime.now(dt.UTC)
    while True:
        with store.transaction() as con:
            batch = pending_comments(con, BATCH)
            if batch.num_rows == 0:
                break
            signals, streams = _analyse(batch, detector, rules, model, settings.streams, run)
            write_signals(con, signals, streams, stamp)
        if batch.num_rows < BATCH:
            break
    return run


def _analyse(
    batch: pa.Table,
    detector: LanguageDetector,
    rules: RuleSet,
    model: TextModel | None,
    streams: list[str],
    run: TextRun,
) -> tuple[pa.Table, pa.Table]:
    texts: list[str] = batch.column("text").to_pylist()
    langs = detector.detect(texts)
    scores = sentiment(texts, langs)
    learned = model.score(texts) if model is not None else np.full(len(texts), np.nan)
    found = [rules.labels(t, lang) for t, lang in zip(texts, langs, strict=True)]
    labels = [label(s) for s in scores]
    negative = [
        (lab == "negative") if lab is not None else (bool(q >= NEGATIVE_SCORE) if np.isfinite(q) else None)
        for lab, q in zip(labels, learned, strict=True)
    ]
    run.comments += len(texts)
    run.languages.update(langs)
    run.sentiments.update(lab or "none" for lab in labels)
    run.labels.update(x for intents, emotions in found for x in intents + emotions)
    signals = pa.table(
        {
            "source": batch.column("source"),
            "event_id": batch.column("event_id"),
            "occurred_at": batch.column("occurred_at"),
            "period": batch.column("period"),
            "moment": batch.column("moment"),
            "silo": batch.column("silo"),
            "segment": batch.column("segment"),
            "language": pa.array(langs, pa.string()),
            "sentiment": pa.array(scores, pa.float64()),
            "sentiment_label": pa.array(labels, pa.string()),
            "intents": pa.array([f[0] for f in found], pa.list_(pa.string())),
            "emotions": pa.array([f[1] for f in found], pa.list_(pa.string())),
            "learned": pa.array([None if not np.isfinite(q) else float(q) for q in learned], pa.float64()),
        }
    )
    rows: dict[str, list[Any]] = {k: [] for k in ("i", "metric", "value")}
    for i in range(len(texts)):
        for name in streams:
            hit = negative[i] if name == "negative" else (name in found[i][0] or name in found[i][1])
            if hit is None:
                continue  # no lexicon and no model for this comment: it says nothing about negativity
            rows["i"].append(i)
            rows["metric"].append(f"comment_{name}")
            rows["value"].append(1.0 if hit else 0.0)
    take = pa.array(rows["i"], pa.int64())
    parent = batch.take(take)
    event_ids = [
        f"{s}/{e}/{m}"
        for s, e, m in zip(
            parent.column("source").to_pylist(),
            parent.column("event_id").to_pylist(),
            rows["metric"],
            strict=True,
        )
    ]
    experiences = pa.table(
        {
            "source": pa.array(["text"] * len(event_ids), pa.string()),
            "event_id": pa.array([e[:256] for e in event_ids], pa.string()),
            "customer_key": parent.column("customer_key"),
            "anonymous_key": parent.column("anonymous_key"),
            "occurred_at": parent.column("occurred_at"),
            "period": parent.column("period"),
            "moment": parent.column("moment"),
            "stage": parent.column("stage"),
            "silo": parent.column("silo"),
            "segment": parent.column("segment"),
            "metric": pa.array(rows["metric"], pa.string()),
            "value": pa.array(rows["value"], pa.float64()),
        }
    )
    run.stream_rows += experiences.num_rows
    return signals, experiences


def text_summary(con: Any, *, silo: str | None = None) -> dict[str, Any]:
    """Counts of analysed comments per moment: share negative, labels, languages."""
    from gapwatch.adapters.duckdb_perceptions import has_table

    if not has_table(con, "text_signals"):
        return {"comments": 0, "moments": []}
    where = "WHERE silo = ?" if silo else ""
    params = [silo] if silo else []
    moments = con.execute(
        "SELECT moment, silo, count(*) AS n, avg(CASE WHEN sentiment_label = 'negative' THEN 1.0 "
        "WHEN sentiment_label IS NULL THEN NULL ELSE 0.0 END) AS negative_share, "
        "avg(sentiment) AS mean_sentiment, avg(learned) AS mean_learned "
        f"FROM text_signals {where} GROUP BY ALL ORDER BY n DESC",
        params,
    ).fetchall()
    labels = con.execute(
        "SELECT moment, label, count(*) FROM (SELECT moment, unnest(list_concat(intents, emotions)) AS label "
        f"FROM text_signals {where}) GROUP BY ALL ORDER BY 3 DESC",
        params,
    ).fetchall()
    langs = con.execute(
        f"SELECT language, count(*) FROM text_signals {where} GROUP BY ALL ORDER BY 2 DESC", params
    )
    languages = dict(langs.fetchall())
    per: dict[str, dict[str, int]] = {}
    for moment, lab, n in labels:
        per.setdefault(moment, {})[lab] = n
    return {
        "comments": int(sum(r[2] for r in moments)),
        "languages": languages,
        "moments": [
            {
                "moment": m,
                "silo": s,
                "comments": n,
                "negative_share": neg,
                "mean_sentiment": sent,
                "mean_learned": learned,
                "labels": per.get(m, {}),
            }
            for m, s, n, neg, sent, learned in moments
        ],
    }


@dataclass(frozen=True, slots=True)
class TextSignal:
    """What the analysis found in one of a customer's comments."""

    source: str
    occurred_at: dt.datetime
    moment: str
    language: str
    sentiment: float | None
    sentiment_label: str | None
    intents: list[str]
    emotions: list[str]
    learned: float | None


def customer_signals(con: Any, customer_keys: list[str]) -> list[TextSignal]:
    """The analysed comments of a customer (their keys), in time order."""
    from gapwatch.adapters.duckdb_perceptions import has_table

    if not customer_keys or not has_table(con, "text_signals"):
        return []
    marks = ", ".join("?" for _ in customer_keys)
    found = con.execute(
        "SELECT DISTINCT t.source, t.occurred_at, t.moment, t.language, t.sentiment, t.sentiment_label, "
        "t.intents, t.emotions, t.learned FROM text_signals t JOIN experiences e "
        "ON e.source = t.source AND e.event_id = t.event_id "
        f"WHERE e.customer_key IN ({marks}) ORDER BY t.occurred_at, t.moment",
        customer_keys,
    ).fetchall()
    return [
        TextSignal(r[0], r[1], r[2], r[3], r[4], r[5], list(r[6] or []), list(r[7] or []), r[8])
        for r in found
    ]
