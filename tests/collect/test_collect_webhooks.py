"""Survey webhooks: a signed Formbricks "response finished" delivery, bad signatures, replays, other tools."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from typing import Any

import httpx
from collecthelpers import FORMBRICKS_SECRET, FORMS_SECRET, Keys, dumps, formbricks_finished, standard_webhook

from gapwatch.api import Runtime

URL = "/collect/webhooks/formbricks"


def _rows(runtime: Runtime, sql: str) -> list[tuple[Any, ...]]:
    with runtime.reader() as con:
        return list(con.execute(sql).fetchall())


def _signed(body: bytes, msg_id: str = "msg_1", at: dt.datetime | None = None) -> dict[str, str]:
    return standard_webhook(body, FORMBRICKS_SECRET, msg_id, at or dt.datetime.now(dt.UTC))


def test_a_signed_formbricks_response_becomes_an_outcome_and_an_experience(
    client: httpx.Client, runtime: Runtime, keys: Keys
) -> None:
    body = dumps([formbricks_finished("resp_1", "C-1", nps=9, csat=2)])  # as Formbricks documents it: a list
    r = client.post(URL, content=body, headers=_signed(body))
    assert r.status_code == 200, r.text
    answer = r.json()
    assert (answer["received"], answer["accepted"], answer["ignored"]) == (2, 2, 0)
    assert sorted((x["kind"], x["event_id"]) for x in answer["results"]) == [
        ("experience", "resp_1:csat"),
        ("outcome", "resp_1:nps"),
    ]
    assert _rows(runtime, "SELECT source, event_id, outcome, value FROM outcomes") == [
        ("formbricks", "resp_1:nps", "nps", 9.0)
    ]
    assert _rows(runtime, "SELECT moment, metric, value, status FROM experiences") == [
        ("support_ticket", "csat", 2.0, -1)
    ]
    view = client.get("/v1/customers/C-1", headers={"Authorization": f"Bearer {keys.admin}"}).json()
    assert [(o["outcome"], o["value"]) for o in view["outcomes"]] == [("nps", 9.0)]


def test_a_replayed_delivery_is_a_duplicate(client: httpx.Client, runtime: Runtime) -> None:
    body = dumps(formbricks_finished("resp_2", "C-2", nps=3, csat=None))  # one object works too
    headers = _signed(body)
    first = client.post(URL, content=body, headers=headers).json()
    replay = client.post(URL, content=body, headers=headers).json()  # the very same request again
    assert (first["accepted"], replay["duplicate"], replay["accepted"]) == (1, 1, 0)
    assert _rows(runtime, "SELECT count(*) FROM outcomes") == [(1,)]


def test_bad_missing_or_stale_signatures_are_401_and_store_nothing(
    client: httpx.Client, runtime: Runtime, keys: Keys
) -> None:
    body = dumps(formbricks_finished("resp_3", "C-3", nps=10, csat=5))
    forged = {**_signed(body), "webhook-signature": "v1," + "A" * 44}
    assert client.post(URL, content=body, headers=forged).status_code == 401
    tampered = dumps(formbricks_finished("resp_3", "C-3", nps=0, csat=5))
    r = client.post(URL, content=tampered, headers=_signed(body))
    assert r.status_code == 401 and "does not match" in r.json()["message"]
    old = _signed(body, at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10))
    r = client.post(URL, content=body, headers=old)
    assert r.status_code == 401 and "replay" in r.json()["message"]
    assert client.post(URL, content=body, headers={"content-type": "application/json"}).status_code == 401
    # a bad signature is refused even with a valid token beside it
    r = client.post(URL, content=body, headers={**forged, "Authorization": f"Bearer {keys.formbricks}"})
    assert r.status_code == 401
    assert _rows(runtime, "SELECT count(*) FROM outcomes") == [(0,)]
    assert _rows(runtime, "SELECT count(*) FROM experiences") == [(0,)]


def test_an_unsigned_delivery_needs_a_key_of_its_source(client: httpx.Client, keys: Keys) -> None:
    body = dumps(formbricks_finished("resp_4", "C-4", nps=8, csat=4))
    plain = {"content-type": "application/json"}
    assert (
        client.post(
            URL, content=body, headers={**plain, "Authorization": f"Bearer {keys.segment}"}
        ).status_code
        == 403
    )
    r = client.post(URL, content=body, headers={**plain, "Authorization": f"Bearer {keys.formbricks}"})
    assert r.status_code == 200 and r.json()["accepted"] == 2
    assert client.post("/collect/webhooks/nowhere", content=body, headers=plain).status_code == 404


def test_other_events_are_ignored_and_broken_items_rejected_with_reasons(
    client: httpx.Client, runtime: Runtime
) -> None:
    created = {**formbricks_finished("resp_5", "C-5", nps=7, csat=None), "event": "responseCreated"}
    no_one = formbricks_finished("resp_6", None, nps=7, csat=None)
    no_answer = formbricks_finished("resp_7", "C-7", nps=None, csat=None)
    bad_nps = formbricks_finished("resp_8", "C-8", nps="ten", csat=None)  # type: ignore[arg-type]
    body = dumps([created, no_one, no_answer, bad_nps, "junk"])
    answer = client.post(URL, content=body, headers=_signed(body)).json()
    assert answer["ignored"] == 1 and answer["messages"] == 5
    codes = {r["index"]: r["reason_code"] for r in answer["results"]}
    assert codes == {1: "missing_customer", 2: "no_experience", 3: "bad_type", 4: "not_json"}
    assert _rows(runtime, "SELECT count(*) FROM rejected") == [(4,)]


def test_a_github_style_signature_with_its_own_header(client: httpx.Client, runtime: Runtime) -> None:
    item = {
        "submission": {
            "id": "sub-1",
            "submitted_at": "2026-11-30T10:00:00Z",
            "hidden": {"customer": "C-9"},
            "answers": {"satisfaction": 5},
        }
    }
    body = dumps(item)
    sig = "sha256=" + hmac.new(FORMS_SECRET.encode(), body, hashlib.sha256).hexdigest()
    ok = client.post("/collect/webhooks/forms", content=body, headers={"X-Forms-Signature": sig})
    assert ok.status_code == 200 and ok.json()["accepted"] == 1, ok.text
    wrong = client.post(
        "/collect/webhooks/forms", content=body, headers={"X-Forms-Signature": sig[:-2] + "00"}
    )
    assert wrong.status_code == 401
    assert _rows(runtime, "SELECT source, event_id, moment, metric FROM experiences") == [
        ("forms", "sub-1", "review_invite", "csat")
    ]


def test_a_missing_secret_file_refuses_signed_deliveries(client: httpx.Client, workspace: Any) -> None:
    (workspace / "formbricks-webhook.secret").unlink()
    body = dumps(formbricks_finished("resp_9", "C-9", nps=9, csat=None))
    r = client.post(URL, content=body, headers=_signed(body))
    assert r.status_code == 401 and "no signing secret" in r.json()["message"]


def test_a_delivery_of_too_many_items_is_refused_before_mapping(client: httpx.Client, keys: Keys) -> None:
    body = dumps([{"event": "responseCreated"}] * 1001)
    r = client.post(URL, content=body, headers={"Authorization": f"Bearer {keys.formbricks}"})
    assert r.status_code == 413
