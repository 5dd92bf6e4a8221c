"""The tracking API under /collect: message shapes, write keys, idempotency, clock skew, bounds, stitching."""

from __future__ import annotations

import datetime as dt
import gzip
import threading
import zlib
from typing import Any

import httpx
import pytest
from collecthelpers import Keys, basic, delivered, dumps, iso

from gapwatch.api import Runtime

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
DAY = dt.timedelta(days=1)


def _rows(runtime: Runtime, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with runtime.reader() as con:
        return list(con.execute(sql, params or []).fetchall())


def _post(client: httpx.Client, key: str, batch: list[dict[str, Any]], **body: Any) -> dict[str, Any]:
    r = client.post("/collect/v1/batch", content=dumps({"batch": batch, **body}), headers=basic(key))
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    assert out["received"] == out["accepted"] + out["duplicate"] + out["rejected"]
    return out


def test_a_batch_maps_tracked_events_keeps_behaviour_and_links_ids(
    client: httpx.Client, runtime: Runtime, keys: Keys
) -> None:
    when = NOW - 2 * DAY
    batch = [
        {"type": "page", "name": "Pricing", "anonymousId": "V-1", "messageId": "p1", "timestamp": iso(when)},
        {
            "type": "identify",
            "userId": "C-1",
            "anonymousId": "V-1",
            "messageId": "i1",
            "traits": {"email": "a@b"},
        },
        delivered("t1", "C-1", 6, 4, "premium", when + dt.timedelta(hours=2)),
        {
            "type": "track",
            "event": "Product Viewed",
            "userId": "C-1",
            "messageId": "t2",
            "timestamp": iso(when),
        },
        {"type": "screen", "name": "Home", "userId": "C-1", "messageId": "s1", "timestamp": iso(when)},
    ]
    body = gzip.compress(dumps({"batch": batch, "sentAt": iso(NOW)}))
    r = client.post(
        "/collect/v1/batch", content=body, headers={**basic(keys.segment), "Content-Encoding": "gzip"}
    )
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["success"] is True and answer["source"] == "segment"
    assert (answer["messages"], answer["accepted"], answer["rejected"]) == (5, 5, 0)
    kinds = [(x["index"], x["kind"]) for x in answer["results"]]
    assert kinds == [
        (0, "behaviour"),
        (1, "behaviour"),
        (2, "experience"),
        (3, "behaviour"),
        (4, "behaviour"),
    ]

    got = _rows(
        runtime,
        "SELECT event_id, moment, metric, value, expected, segment, status, attributes FROM experiences",
    )
    assert got == [("t1", "delivery", "delivery_days", 6.0, 4.0, "premium", -1, '{"carrier":"DHL"}')]
    types = _rows(runtime, "SELECT message_id, type, name FROM behaviour ORDER BY message_id")
    assert types == [
        ("i1", "identify", None),
        ("p1", "page", "Pricing"),
        ("s1", "screen", "Home"),
        ("t2", "track", "Product Viewed"),
    ]
    # traits are not kept (an identify's traits are personal data gapwatch does not need)
    assert _rows(runtime, "SELECT properties FROM behaviour WHERE message_id = 'i1'") == [(None,)]
    assert len(_rows(runtime, "SELECT * FROM identity_links")) == 1


def test_write_key_in_basic_auth_bearer_or_body_and_who_may_post(
    client: httpx.Client, runtime: Runtime, keys: Keys
) -> None:
    msg = {"type": "track", "event": "Opened", "userId": "C-2", "timestamp": iso(NOW)}
    ok = [
        client.post("/collect/v1/track", json={**msg, "messageId": "a"}, headers=basic(keys.segment)),
        client.post(
            "/collect/v1/track",
            json={**msg, "messageId": "b"},
            headers={"Authorization": f"Bearer {keys.segment}"},
        ),
        client.post("/collect/v1/track", json={**msg, "messageId": "c", "writeKey": keys.segment}),
        client.post(
            "/collect/v1/batch", json={"batch": [{**msg, "messageId": "d"}], "writeKey": keys.segment}
        ),
        client.post(
            "/collect/v1/track",
            json={**msg, "messageId": "e"},
            headers={**basic(keys.admin), "X-Gapwatch-Source": "segment"},
        ),
        client.post(
            "/collect/v1/track",
            json={**msg, "messageId": "f"},
            headers={**basic(keys.admin), "X-Gapwatch-Source": "webapp"},
        ),
    ]
    assert [r.status_code for r in ok] == [200] * 6, [r.text for r in ok]
    assert [r.json()["source"] for r in ok] == ["segment"] * 5 + ["webapp"]

    # two tracking sources are declared here: an admin names the one it posts for
    ambiguous = client.post("/collect/v1/track", json=msg, headers=basic(keys.admin))
    assert ambiguous.status_code == 400 and "X-Gapwatch-Source" in ambiguous.json()["message"]
    missing = client.post("/collect/v1/track", json={**msg, "messageId": "g"})
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Basic")
    assert client.post("/collect/v1/track", json=msg, headers=basic("gw_nope_nope")).status_code == 401
    assert (
        client.post("/collect/v1/track", json=msg, headers={"Authorization": "Basic !!!"}).status_code == 401
    )
    assert client.post("/collect/v1/track", json=msg, headers=basic(keys.analyst)).status_code == 403
    file_source = client.post("/collect/v1/track", json=msg, headers=basic(keys.crm))
    assert file_source.status_code == 403 and "not a tracking source" in file_source.json()["message"]
    unknown = client.post(
        "/collect/v1/track", json=msg, headers={**basic(keys.admin), "X-Gapwatch-Source": "nowhere"}
    )
    assert unknown.status_code == 404
    # an ingest key posts for its own source only, whatever header it sends
    own = client.post(
        "/collect/v1/track",
        json={**msg, "messageId": "h"},
        headers={**basic(keys.webapp), "X-Gapwatch-Source": "segment"},
    )
    assert own.json()["source"] == "webapp"
    assert len(_rows(runtime, "SELECT * FROM behaviour")) == 7


def test_message_id_is_the_idempotency_key(client: httpx.Client, runtime: Runtime, keys: Keys) -> None:
    batch = [
        delivered("m1", "C-3", 3, 5, "standard", NOW - DAY),
        {"type": "page", "name": "Docs", "userId": "C-3", "messageId": "m2", "timestamp": iso(NOW - DAY)},
    ]
    sent = dt.datetime.now(dt.UTC)
    first = _post(client, keys.segment, batch, sentAt=iso(sent))
    # a retry: the transport's sentAt is new (a few seconds later), the messages are the same
    again = _post(client, keys.segment, batch, sentAt=iso(sent + dt.timedelta(seconds=7)))
    assert (first["accepted"], again["duplicate"], again["accepted"]) == (2, 2, 0)
    # the same message id with another payload: the first is kept, the other rejected as a conflict
    changed = _post(client, keys.segment, [delivered("m1", "C-3", 9, 5, "standard", NOW - DAY)])
    assert changed["results"][0]["reason_code"] == "conflict"
    assert _rows(runtime, "SELECT value FROM experiences") == [(3.0,)]
    assert len(_rows(runtime, "SELECT * FROM behaviour")) == 1
    # a message sent without a messageId gets one from its content: resent, it is a duplicate
    plain = {"type": "track", "event": "Clicked", "userId": "C-3", "timestamp": iso(NOW)}
    one, two = _post(client, keys.segment, [plain]), _post(client, keys.segment, [plain])
    assert one["results"][0]["event_id"].startswith("gw-") and two["duplicate"] == 1


def test_clock_skew_is_corrected_from_sent_at_in_whole_minutes(
    client: httpx.Client, runtime: Runtime, keys: Keys
) -> None:
    # The device's clock runs two hours ahead: its timestamp and sentAt both carry the error.
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    ahead = dt.timedelta(hours=2)
    happened = now - dt.timedelta(minutes=30)
    _post(
        client,
        keys.segment,
        [delivered("k1", "C-4", 2, 3, "business", happened + ahead)],
        sentAt=iso(now + ahead),
    )
    # A message's own sentAt wins over the batch's; 20 s of network time is no skew.
    own = delivered("k2", "C-4", 2, 3, "business", happened, sentAt=iso(now - dt.timedelta(seconds=20)))
    _post(client, keys.segment, [own], sentAt=iso(now + ahead))
    got = dict(_rows(runtime, "SELECT event_id, occurred_at FROM experiences"))
    assert abs(got["k1"] - happened) < dt.timedelta(seconds=1)
    assert got["k2"] == happened


def test_hostile_messages_are_rejected_one_by_one_and_kept(
    client: httpx.Client, runtime: Runtime, keys: Keys
) -> None:
    good = {"type": "track", "event": "Ok", "userId": "C-5", "timestamp": iso(NOW)}
    batch: list[Any] = [
        "not an object",
        {**good, "messageId": "h1", "type": "teleport"},
        {**good, "messageId": "h2", "userId": {"id": 1}},
        {**good, "messageId": "h3", "userId": None},
        {**good, "messageId": "h4", "event": None},
        {**good, "messageId": "h5", "timestamp": "yesterday"},
        {**good, "messageId": "h6", "timestamp": iso(NOW + 3 * DAY)},
        {**good, "messageId": "x" * 101},
        {**good, "messageId": "h7", "properties": ["not", "an", "object"]},
        {**good, "messageId": "h8", "userId": "u" * 257},
        {**good, "messageId": "h9", "event": "e" * 201},
        delivered("h10", "C-5", "soon", 3, "standard", NOW),
        delivered("h11", "C-5", 3, 3, "gold", NOW),
        {**good, "messageId": "ok1", "properties": {"blob": "z" * 20_000, "deep": [[[[[[[[1]]]]]]]]}},
    ]
    answer = _post(client, keys.segment, batch)
    codes = [r["reason_code"] for r in answer["results"]]
    assert codes == [
        "not_json",
        "unknown_type",
        "bad_id",
        "missing_customer",
        "missing_event",
        "bad_timestamp",
        "bad_timestamp",
        "event_id_too_long",
        "bad_properties",
        "bad_id",
        "bad_name",
        "bad_type",  # a rating sent as the word "soon": the record's value must be a JSON number
        "unknown_segment",
        None,
    ]
    assert all(r["reason"] for r in answer["results"][:-1])
    kept = _rows(runtime, "SELECT reason_code, count(*) FROM rejected GROUP BY ALL")
    assert sum(n for _, n in kept) == 13
    # what was posted is kept whole with the reason (the mapped record for the ingest path's rejects)
    assert _rows(runtime, "SELECT CAST(raw AS VARCHAR) FROM rejected WHERE reason_code = 'unknown_type'") == [
        (dumps(batch[1]).decode(),)
    ]
    props = _rows(runtime, "SELECT CAST(properties AS VARCHAR) FROM behaviour WHERE message_id = 'ok1'")[0][0]
    assert "_dropped" in props and len(props) < 200


def test_bounds_are_those_of_post_v1_events(runtime: Runtime, keys: Keys, client: httpx.Client) -> None:
    limit = runtime.settings.max_body_bytes
    bomb = gzip.compress(b'{"batch": [' + b" " * (64 * limit) + b"]}", 9)
    assert len(bomb) < limit
    r = client.post(
        "/collect/v1/batch", content=bomb, headers={**basic(keys.segment), "Content-Encoding": "gzip"}
    )
    assert r.status_code == 413 and "expands" in r.json()["message"]
    deflated = zlib.compress(b'{"batch": []}')
    r = client.post(
        "/collect/v1/batch", content=deflated, headers={**basic(keys.segment), "Content-Encoding": "br"}
    )
    assert r.status_code == 415
    r = client.post(
        "/collect/v1/batch",
        content=b"\x1f\x8b broken",
        headers={**basic(keys.segment), "Content-Encoding": "gzip"},
    )
    assert r.status_code == 400
    assert (
        client.post("/collect/v1/batch", content=b"{not json", headers=basic(keys.segment)).status_code == 400
    )
    assert (
        client.post("/collect/v1/batch", json={"batch": []}, headers=basic(keys.segment)).status_code == 400
    )
    assert (
        client.post(
            "/collect/v1/batch", json={"batch": [{}], "sentAt": 5}, headers=basic(keys.segment)
        ).status_code
        == 400
    )
    assert (
        client.post("/collect/v1/batch", content=b"x" * (limit + 1), headers=basic(keys.segment)).status_code
        == 413
    )
    many = [{"type": "track", "event": "E", "userId": "C", "messageId": f"n{i}"} for i in range(1001)]
    assert (
        client.post("/collect/v1/batch", json={"batch": many}, headers=basic(keys.segment)).status_code == 413
    )
    assert _rows(runtime, "SELECT count(*) FROM behaviour") == [(0,)]


def test_rate_limit_and_a_full_queue_answer_with_retry_after(workspace: Any) -> None:
    from apihelpers import serve
    from collecthelpers import make_keys, make_runtime

    from gapwatch.api import create_app

    rt = make_runtime(workspace, rate_limit_events_per_second=5, write_queue_batches=1)
    keys = make_keys(rt)
    try:
        with serve(create_app(rt, close_on_shutdown=False)) as url, httpx.Client(base_url=url) as c:
            batch = [{"type": "track", "event": "E", "userId": "C", "messageId": f"r{i}"} for i in range(6)]
            r = c.post("/collect/v1/batch", json={"batch": batch}, headers=basic(keys.segment))
            assert r.status_code == 429 and r.headers["retry-after"] == "1"
            started, release = threading.Event(), threading.Event()

            def busy() -> None:
                started.set()
                release.wait(30)

            blocker = rt.writer.submit(busy)  # the writer is busy ...
            assert started.wait(10)
            rt.writer.submit(lambda: None)  # ... and its one-place queue is full
            r = c.post("/collect/v1/batch", json={"batch": batch[:1]}, headers=basic(keys.admin))
            assert r.status_code == 503 and r.headers["retry-after"] == "1"
            release.set()
            blocker.result()
    finally:
        rt.close()


def test_stitched_identities_make_one_journey_and_erasure_follows_the_links(
    client: httpx.Client, runtime: Runtime, keys: Keys
) -> None:
    before = NOW - 3 * DAY
    anonymous = [
        {
            "type": "page",
            "name": "Pricing",
            "anonymousId": "V-9",
            "messageId": "v1",
            "timestamp": iso(before),
        },
        {
            "type": "track",
            "event": "Order Delivered",
            "anonymousId": "V-9",
            "messageId": "v2",
            "timestamp": iso(before),
            "properties": {"delivery_days": 7, "tier": "standard"},
        },
    ]
    _post(client, keys.segment, anonymous)
    assert (
        client.get("/v1/customers/C-9", headers={"Authorization": f"Bearer {keys.admin}"}).status_code == 404
    )
    _post(
        client, keys.segment, [{"type": "identify", "userId": "C-9", "anonymousId": "V-9", "messageId": "v3"}]
    )
    _post(client, keys.segment, [delivered("v4", "C-9", 2, 3, "standard", NOW - DAY)])

    admin = {"Authorization": f"Bearer {keys.admin}"}
    view = client.get("/v1/customers/C-9", headers=admin).json()
    assert [s["event_id"] for s in view["steps"]] == ["v2", "v4"]  # the anonymous delivery is theirs
    assert [(b["type"], b["name"]) for b in view["behaviour"]] == [("page", "Pricing"), ("identify", None)]
    same = client.get("/v1/customers/V-9", headers=admin).json()  # the visitor's id finds the same person
    assert [s["event_id"] for s in same["steps"]] == ["v2", "v4"]

    export = client.get("/v1/customers/C-9/export", headers=admin).json()
    assert {i["customer_id"] for i in export["identities"]} == {"c-9", "v-9"}  # stored lower-cased (id_case)
    assert len(export["behaviour"]) == 2 and len(export["identity_links"]) == 1

    erased = client.delete("/v1/customers/C-9", headers=admin).json()
    assert (erased["identities"], erased["behaviour"], erased["identity_links"]) == (2, 2, 1)
    assert erased["experiences_unlinked"] == 2
    for table in ("behaviour", "identity_links", "identities"):
        assert _rows(runtime, f"SELECT count(*) FROM {table}") == [(0,)], table
    assert _rows(runtime, "SELECT count(*) FROM erased") == [(2,)]
    assert _rows(runtime, "SELECT count(*) FROM experiences WHERE anonymous_key NOT LIKE 'erased:%'") == [
        (0,)
    ]
    # the tracker keeps sending the old anonymous id: suppressed, nothing stored
    later = _post(
        client, keys.segment, [{"type": "page", "name": "Home", "anonymousId": "V-9", "messageId": "v5"}]
    )
    assert later["results"][0]["reason_code"] == "erased_customer"
    assert _rows(runtime, "SELECT count(*) FROM behaviour") == [(0,)]
    assert _rows(runtime, "SELECT count(*) FROM identities") == [(0,)]


@pytest.mark.parametrize("route", ["track", "identify", "page", "screen", "group", "alias"])
def test_single_message_routes_take_their_type(
    route: str, client: httpx.Client, runtime: Runtime, keys: Keys
) -> None:
    msg = {
        "userId": "C-6",
        "anonymousId": "V-6",
        "previousId": "old-6",
        "event": "E",
        "name": "N",
        "messageId": route,
    }
    r = client.post(f"/collect/v1/{route}", json=msg, headers=basic(keys.segment))
    assert r.status_code == 200 and r.json()["accepted"] == 1, r.text
    assert _rows(runtime, "SELECT type FROM behaviour") == [(route,)]
    links = _rows(runtime, "SELECT count(*) FROM identity_links")[0][0]
    assert links == (2 if route == "alias" else 1)


def test_a_source_maps_page_names_several_metrics_labels_and_text(
    client: httpx.Client, runtime: Runtime, keys: Keys
) -> None:
    when = iso(NOW - DAY)
    closed = {"type": "track", "event": "Ticket Closed", "userId": "C-8", "timestamp": when}
    batch = [
        {"type": "page", "name": "Checkout", "anonymousId": "V-8", "messageId": "w1", "timestamp": when}
        | {"properties": {"load_ms": 3200}},
        closed | {"messageId": "w2", "properties": {"first_reply_hours": 5, "rating": 4, "plan": "Gold"}},
        closed
        | {"messageId": "w3", "properties": {"first_reply_hours": 30, "comment": "slow"}}
        | {"context": {"traits": {"plan": "Basic"}}},
        closed | {"messageId": "w4", "properties": {"first_reply_hours": 2, "plan": "Platinum"}},
        {"type": "page", "name": "Home", "anonymousId": "V-8", "messageId": "w5", "timestamp": when},
    ]
    answer = _post(client, keys.webapp, batch)
    assert (answer["accepted"], answer["rejected"]) == (6, 0), answer
    got = _rows(runtime, "SELECT event_id, moment, metric, value, segment, text FROM experiences ORDER BY 1")
    assert got == [
        ("w1", "checkout", "page_load_seconds", 3.2, "all", None),
        ("w2:csat", "support_ticket", "csat", 4.0, "premium", None),
        ("w2:first_response_hours", "support_ticket", "first_response_hours", 5.0, "premium", None),
        ("w3:first_response_hours", "support_ticket", "first_response_hours", 30.0, "standard", "slow"),
        ("w4:first_response_hours", "support_ticket", "first_response_hours", 2.0, "all", None),
    ]
    assert _rows(runtime, "SELECT message_id FROM behaviour") == [("w5",)]
