"""The cross-silo customer view, export, and erasure with suppression of later events."""

from __future__ import annotations

import datetime as dt
from typing import Any

from apihelpers import Tokens, bearer, seed_alert, signal
from httpx import Client

from gapwatch.api import Runtime


def _event(eid: str, moment: str, metric: str, value: float, when: str, **extra: Any) -> dict[str, Any]:
    return {
        "event_id": eid,
        "customer_id": "C-7",
        "occurred_at": when,
        "moment": moment,
        "metric": metric,
        "value": value,
        **extra,
    }


JOURNEY = [
    _event("j1", "demo_request", "response_hours", 30, "2026-03-01T09:00:00Z", text="called me twice"),
    _event("j2", "quote", "quote_turnaround_hours", 12, "2026-03-03T09:00:00Z"),
    _event("j3", "delivery", "delivery_days", 6, "2026-03-09T09:00:00Z", segment="premium", expected=4),
    _event(
        "j4", "support_ticket", "first_response_hours", 3, "2026-03-12T09:00:00Z", text="my phone is 555-0100"
    ),
]


def test_journey_export_and_erasure(client: Client, runtime: Runtime, tokens: Tokens) -> None:
    admin = bearer(tokens.admin)
    bad = _event("j5", "delivery", "delivery_days", 2, "2026-03-10T09:00:00Z", segment="vip")
    r = client.post("/v1/events", json={"source": "api", "events": [*JOURNEY, bad]}, headers=admin).json()
    assert (r["accepted"], r["rejected"]) == (4, 1)
    seed_alert(runtime, signal(moment="delivery", segment="premium", period=dt.date(2026, 3, 9)))

    view = client.get("/v1/customers/C-7", headers=bearer(tokens.member_sales)).json()
    assert [s["event_id"] for s in view["steps"]] == ["j1", "j2", "j3", "j4"]
    assert view["silos"] == ["marketing", "sales", "delivery", "success"]
    assert view["stage_now"] == "support" and view["silo_now"] == "success"
    assert next(s["status"] for s in view["steps"]) == "missed" and view["steps"][2]["adequate"] == 4
    assert [c["moment"] for c in view["open_cases"]] == ["delivery"]

    assert client.get("/v1/customers/C-7/export", headers=bearer(tokens.analyst)).status_code == 403
    export = client.get("/v1/customers/C-7/export", headers=admin).json()
    assert {i["customer_id"] for i in export["identities"]} == {"c-7"}  # as stored: the case rule `lower`
    assert len(export["experiences"]) == 4 and len(export["rejected"]) == 1
    assert any(e["text"] == "my phone is 555-0100" for e in export["experiences"])

    erased = client.delete("/v1/customers/C-7", headers=admin).json()
    assert erased == {
        "customer_id": "C-7",
        "identities": 1,
        "texts": 2,
        "experiences_unlinked": 4,
        "outcomes_unlinked": 0,
        "rejected": 1,
        "suppressed": True,
        "behaviour": 0,
        "identity_links": 0,
        "compacted": True,
        "seconds": erased["seconds"],
        "extra": {},
    }
    assert client.get("/v1/customers/C-7", headers=admin).status_code == 404
    assert client.get("/v1/customers/C-7/export", headers=admin).status_code == 404
    with runtime.reader() as con:
        kept = con.execute(
            "SELECT count(*), count(text), count(DISTINCT customer_key) FROM experiences"
        ).fetchone()
        ids = con.execute("SELECT count(*) FROM identities WHERE lower(customer_id) = 'c-7'").fetchone()
        raw = con.execute("SELECT count(*) FROM rejected WHERE CAST(raw AS VARCHAR) ILIKE '%C-7%'").fetchone()
    assert kept == (4, 0, 1)  # the statistics keep every experience, unlinked from the person
    assert ids == (0,) and raw == (0,)

    again = client.post(
        "/v1/events", json={"source": "api", "events": [{**JOURNEY[0], "event_id": "j9"}]}, headers=admin
    ).json()
    assert again["rejected"] == 1 and again["results"][0]["reason_code"] == "erased_customer"
    with runtime.reader() as con:
        assert con.execute("SELECT count(*) FROM identities WHERE lower(customer_id) = 'c-7'").fetchone() == (
            0,
        )
