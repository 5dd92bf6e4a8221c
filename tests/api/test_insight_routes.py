"""The insight routes as a client uses them: perspectives, text analysis, risk model state, drivers."""

from __future__ import annotations

import time
from typing import Any

from apihelpers import Tokens, bearer
from httpx import Client

from gapwatch.api import Runtime


def _answer(rid: str, perspective: str, silo: str, score: Any, kind: str = "P") -> dict[str, Any]:
    return {
        "respondent_id": rid,
        "perspective": perspective,
        "silo": silo,
        "dimension": "reliability",
        "item": "reliability_1",
        "kind": kind,
        "score": score,
        "answered_at": "2026-02-10T10:00:00Z",
    }


def test_perspectives_answers_and_gaps(client: Client, runtime: Runtime, tokens: Tokens) -> None:
    answers = [_answer(f"C-{i}", "customer", "all", 3 + i % 3) for i in range(30)]
    answers += [_answer(f"L-{i}", "leader", "delivery", 6 + i % 2) for i in range(6)]
    answers += [_answer("X-1", "manager", "delivery", 5), _answer("X-2", "leader", "delivery", 11)]
    r = client.post("/v1/perspectives/answers", json={"answers": answers}, headers=bearer(tokens.admin))
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 36 and r.json()["reasons"] == {
        "unknown_perspective": 1,
        "score_out_of_scale": 1,
    }
    # an ingest key may only send answers under its own source
    denied = client.post(
        "/v1/perspectives/answers",
        json={"source": "web", "answers": answers[:1]},
        headers=bearer(tokens.ingest_crm),
    )
    assert denied.status_code == 403
    # a boolean is not a score (lax parsing would read true as 1.0) and a score string is bounded
    for bad in (True, "5" * 65):
        r = client.post(
            "/v1/perspectives/answers",
            json={"answers": [_answer("C-x", "customer", "all", bad)]},
            headers=bearer(tokens.admin),
        )
        assert r.status_code == 422, r.text
    report = client.get(
        "/v1/perspectives", params={"pooled": "true"}, headers=bearer(tokens.member_sales)
    ).json()
    gap = next(
        g
        for g in report["gaps"]
        if g["gap"] == "leader-customer" and g["silo"] == "delivery" and g["dimension"] == "reliability"
    )
    assert gap["estimate"] > 2 and gap["significant"] and gap["n"] == [6, 30]
    assert report["respondents"] == {"customer": 30, "leader": 6}


def test_text_analysis_makes_streams(client: Client, runtime: Runtime, tokens: Tokens) -> None:
    events = [
        {
            "event_id": f"t{i}",
            "customer_id": f"C-{i}",
            "occurred_at": f"2026-03-{1 + i % 9:02d}T09:00:00Z",
            "moment": "support_ticket",
            "metric": "first_response_hours",
            "value": 2.0,
            "text": "This is the worst support, I want to cancel" if i % 2 else "Thank you, great help",
        }
        for i in range(40)
    ]
    assert (
        client.post(
            "/v1/events", json={"source": "tickets", "events": events}, headers=bearer(tokens.admin)
        ).json()["accepted"]
        == 40
    )
    assert client.post("/v1/text/analysis", headers=bearer(tokens.analyst)).status_code == 403
    run = client.post("/v1/text/analysis", headers=bearer(tokens.admin)).json()
    assert run["comments"] == 40 and run["labels"]["cancel"] == 20 and run["stream_rows"] == 80
    summary = client.get("/v1/text", headers=bearer(tokens.member_delivery)).json()
    assert summary["moments"][0]["negative_share"] == 0.5
    streams = client.get("/v1/streams", headers=bearer(tokens.analyst)).json()
    names = {s["metric"] for s in streams["items"]}
    assert "comment_negative" in names and "comment_complaint" in names


def test_risk_model_state_and_honest_failure(client: Client, runtime: Runtime, tokens: Tokens) -> None:
    admin = bearer(tokens.admin)
    assert client.get("/v1/risk/model", headers=admin).json()["state"] == "none"
    empty = client.get("/v1/risk", headers=bearer(tokens.member_sales)).json()
    assert empty["at_risk"] == [] and "no journey model" in empty["note"]
    r = client.post("/v1/risk/model", headers=admin)
    assert r.status_code == 202 and r.json()["state"] == "running"
    deadline = time.monotonic() + 60
    state = r.json()
    while state["state"] == "running" and time.monotonic() < deadline:
        time.sleep(0.2)
        state = client.get("/v1/risk/model", headers=admin).json()
    assert state["state"] == "failed" and "answers" in state["error"]  # nothing to learn from yet
    drivers = client.get("/v1/drivers", headers=bearer(tokens.analyst)).json()
    assert drivers["drivers"] == [] and "at least 30" in drivers["note"]
