"""The API's basic shape: auth, errors, alerts and cases end to end."""

from __future__ import annotations

from apihelpers import Tokens, bearer, seed_alert
from httpx import Client

from gapwatch.api import Runtime


def test_openapi_served_and_versioned(client: Client) -> None:
    spec = client.get("/openapi.json").json()
    assert spec["paths"]
    # The API is /v1; the tracking API keeps its own protocol's version (/collect/v1, what the SDKs
    # post to); webhook receivers and the metrics scrape are named by the tools that call them.
    versioned = ("/v1/", "/collect/v1/", "/collect/webhooks/")
    assert all(path.startswith(versioned) or path == "/metrics" for path in spec["paths"])


def test_missing_and_bad_tokens_are_401(client: Client, tokens: Tokens) -> None:
    assert client.get("/v1/alerts").status_code == 401
    assert client.get("/v1/alerts", headers=bearer("gw_nope")).status_code == 401
    r = client.get(f"/v1/alerts?token={tokens.admin}")
    assert r.status_code == 401
    assert r.json()["code"] == "unauthorized"


def test_alert_explains_itself_and_opens_a_case(client: Client, runtime: Runtime, tokens: Tokens) -> None:
    alert_id = seed_alert(runtime)
    alert = client.get(f"/v1/alerts/{alert_id}", headers=bearer(tokens.member_sales)).json()
    assert alert["silo"] == "delivery" and alert["stage"] == "fulfilment"
    assert alert["kano"] == "must-be" and alert["severity"] == "critical"
    assert alert["adequate"] == 3 and alert["ucl"] == 0.3 and alert["n"] == 40
    assert alert["false_alarm_rate"] > 0 and alert["arl0"] > 1
    listed = client.get("/v1/alerts?silo=delivery&state=open", headers=bearer(tokens.analyst)).json()
    assert [a["id"] for a in listed["items"]] == [alert_id]
    assert client.get("/v1/alerts?silo=sales", headers=bearer(tokens.analyst)).json()["count"] == 0
    case = client.get(f"/v1/cases/{alert['case_id']}", headers=bearer(tokens.member_sales)).json()
    assert case["state"] == "open" and case["events"][0]["action"] == "open"


def test_member_acts_only_on_own_silo(client: Client, runtime: Runtime, tokens: Tokens) -> None:
    alert_id = seed_alert(runtime)
    body = {"verdict": "false_alarm"}
    assert (
        client.post(
            f"/v1/alerts/{alert_id}/verdict", json=body, headers=bearer(tokens.member_sales)
        ).status_code
        == 403
    )
    r = client.post(f"/v1/alerts/{alert_id}/verdict", json=body, headers=bearer(tokens.member_delivery))
    assert r.status_code == 200, r.text
    assert r.json()["verdict"] == "false_alarm"
    report = client.get("/v1/alerts/false-alarms", headers=bearer(tokens.analyst)).json()
    assert report["marked_false"] == 1 and report["designed_per_week"] == 1.0


def test_case_walks_its_states_with_an_audit_trail(client: Client, runtime: Runtime, tokens: Tokens) -> None:
    alert_id = seed_alert(runtime)
    case_id = client.get(f"/v1/alerts/{alert_id}", headers=bearer(tokens.admin)).json()["case_id"]
    h = bearer(tokens.member_delivery)
    url = f"/v1/cases/{case_id}/actions"
    assert client.post(url, json={"action": "verify"}, headers=h).status_code == 409
    assert client.post(url, json={"action": "acknowledge"}, headers=h).json()["acknowledged_by"]
    r = client.post(
        url,
        json={
            "action": "record_action",
            "cause": "carrier change",
            "action_kind": "standard_change",
            "action_text": "promise 4 days",
            "expectation_version": "delivery/premium/delivery_days v1",
        },
        headers=h,
    )
    assert r.status_code == 200, r.text
    r = client.post(url, json={"action": "verify"}, headers=h)
    assert r.json()["state"] == "verifying"
    r = client.post(url, json={"action": "close"}, headers=h)
    assert r.status_code == 409  # the stream has not been in control long enough
    trail = client.get(f"/v1/cases/{case_id}", headers=h).json()["events"]
    assert [e["to_state"] for e in trail] == ["open", "acknowledged", "action_recorded", "verifying"]
    assert all(e["actor"] for e in trail)


def test_body_limit_is_413_before_reading(client: Client, tokens: Tokens) -> None:
    big = b"x" * (1_048_576 + 1)
    r = client.post(
        "/v1/events", content=big, headers={**bearer(tokens.admin), "content-type": "application/json"}
    )
    assert r.status_code == 413
    assert r.json()["code"] == "payload_too_large"
