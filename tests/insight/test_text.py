"""Text signals: language, sentiment, rules, the learned signal, and text streams in a store."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from pydantic import ValidationError

from gapwatch.adapters.duckdb_store import DuckDBStore
from gapwatch.adapters.service_schema import ensure_service_schema
from gapwatch.config import default_config
from gapwatch.config.schema import TextSection
from gapwatch.expectations import sync_expectations
from gapwatch.ingest.batches import ingest_records
from gapwatch.insight.text.language import LanguageDetector
from gapwatch.insight.text.learned import TextModel
from gapwatch.insight.text.rules import RuleSet
from gapwatch.insight.text.sentiment import label, sentiment
from gapwatch.insight.text_service import analyse_texts, text_summary


def test_language_is_detected_not_guessed() -> None:
    found = LanguageDetector().detect(
        [
            "Where is my parcel? It should have arrived last week.",
            "Chegou rápido e bem embalado, recomendo!",
            "El pedido llegó tarde y roto.",
            "ok!!",
            None,
        ]
    )
    assert found == ["en", "pt", "es", "und", "und"]


def test_sentiment_only_where_a_lexicon_exists() -> None:
    scores = sentiment(
        ["Terrible, the worst delivery ever", "Adorei, excelente!", "Pésimo servicio"], ["en", "pt", "es"]
    )
    assert scores[0] is not None and scores[0] < -0.5
    assert scores[1] is not None and scores[1] > 0.5
    assert scores[2] is None
    assert [label(s) for s in scores] == ["negative", "positive", None]


def test_rules_negation_accents_and_overrides() -> None:
    rules = RuleSet()
    assert rules.labels("I am not happy at all", "en") == ([], [])
    assert "joy" in rules.labels("I am happy with it", "en")[1]
    # the simulator's bad comments carry what they say: tone, disappointment, an intent
    assert rules.labels("Took far too long, very frustrating.", "en")[1] == ["disappointment"]
    assert "cancel" in rules.labels("Disappointing service, I want to cancel.", "en")[0]
    assert rules.labels("NÃO RECEBI o produto", "pt")[0] == ["where_is_my_order"]
    custom = RuleSet(
        {"en": {"intent": {"cancel": [r"\bgoodbye forever\b"]}, "emotion": {"relief": [r"\brelieved\b"]}}}
    )
    assert custom.labels("I want to cancel", "en")[0] == []  # the workspace replaced the cancel patterns
    assert custom.labels("goodbye forever, relieved", "en") == (["cancel"], ["relief"])
    assert custom.labels("anything", "xx") == ([], [])  # no rules for that language: no labels


def test_config_rejects_a_bad_pattern() -> None:
    with pytest.raises(ValidationError, match="bad pattern"):
        TextSection.model_validate({"rules": {"en": {"intent": {"cancel": ["(unclosed"]}}}})
    with pytest.raises(ValidationError):
        TextSection.model_validate({"rules": {"en": {"mood": {"x": ["y"]}}}})


def test_learned_signal_generalises_to_held_out_text() -> None:
    rng = np.random.default_rng(4)
    bad = ["atrasou muito", "veio quebrado", "não chegou", "produto errado", "péssimo atendimento"]
    good = ["chegou rápido", "muito bom", "tudo certo", "recomendo", "ótimo produto"]
    y = rng.random(600) < 0.4
    texts = [f"{rng.choice(bad if v else good)} {rng.choice(['loja', 'pedido', 'entrega', ''])}" for v in y]
    model = TextModel().fit(texts[:400], y[:400].astype(float))
    from gapwatch.insight.scores import auc

    assert (auc(y[400:].astype(float), model.score(texts[400:])) or 0) > 0.95
    assert np.isnan(model.score([None, ""])).all()


def _ticket(i: int, comment: str | None, minutes: float, day: int) -> dict[str, object]:
    return {
        "event_id": f"T-{i}",
        "customer_id": f"C-{i % 7}",
        "occurred_at": f"2026-02-{day:02d}T10:00:00Z",
        "moment": "support_ticket",
        "metric": "first_response_hours",
        "value": minutes,
        "text": comment,
    }


def test_text_streams_are_experiences_that_detection_charts() -> None:
    config = default_config()
    store = DuckDBStore(timezone=config.workspace.timezone)
    with store.transaction() as con:
        ensure_service_schema(con)
    sync_expectations(store, config)
    comments = [
        "Great help, thank you!",
        "This is unacceptable, I want to complain",
        "Não recebi resposta, péssimo",
        None,
        "ok",
    ]
    records = [_ticket(i, comments[i % 5], 3.0 if i % 5 else 30.0, 1 + i % 20) for i in range(100)]
    outcome = ingest_records(store, records, "api", config)
    assert outcome.count("accepted") == 100
    run = analyse_texts(store, config, now=dt.datetime(2026, 3, 1, tzinfo=dt.UTC))
    assert run.comments == 80  # 20 rows have no comment
    assert run.languages["und"] == 20  # "ok" is too short to tell
    assert run.labels["complaint"] == 40 and run.labels["gratitude"] == 20  # "péssimo" is a complaint too
    con = store.reader()
    by_metric = dict(
        con.execute("SELECT metric, count(*) FROM experiences WHERE source = 'text' GROUP BY ALL").fetchall()
    )
    # negative: the 60 comments with a lexicon verdict; complaint: every analysed comment gets a 0/1
    assert by_metric == {"comment_negative": 60, "comment_complaint": 80}
    missed = con.execute(
        "SELECT avg((status = -1)::DOUBLE) FROM experiences WHERE metric = 'comment_negative'"
    ).fetchall()[0][0]
    assert missed == pytest.approx(40 / 60)
    assert analyse_texts(store, config).comments == 0  # nothing new: analysed once
    summary = text_summary(con)
    assert summary["comments"] == 80 and summary["moments"][0]["moment"] == "support_ticket"
    from gapwatch.monitor.run import run_monitor

    result = run_monitor(store, config, clock="event", store=False)
    keys = {v.key for v in result.streams}
    assert ("support_ticket", "all", "comment_negative") in keys
    # erasure: what was read in a customer's comments goes with the comments
    from gapwatch.customers.erasure import erase

    def signals_of(cid: str) -> int:
        return int(
            store.reader()
            .execute(
                "SELECT count(*) FROM text_signals t JOIN experiences e USING (source, event_id) "
                "JOIN identities i ON i.customer_key = e.customer_key WHERE i.customer_id = lower(?)",
                [cid],
            )
            .fetchall()[0][0]
        )

    before, theirs = (
        store.reader().execute("SELECT count(*) FROM text_signals").fetchall()[0][0],
        signals_of("C-1"),
    )
    assert theirs > 0
    with store.transaction() as tx:
        done = erase(tx, "C-1", "test")
    assert done.extra["text_signals_deleted"] == theirs
    assert store.reader().execute("SELECT count(*) FROM text_signals").fetchall()[0][0] == before - theirs
    assert signals_of("C-2") > 0  # nobody else's
    store.close()
