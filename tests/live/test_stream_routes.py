"""``GET /v1/streams`` and ``GET /v1/streams/{id}/chart``: what the live path judged, for every reader."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from livehelpers import event_runtime, live_config, replay, serving, synthetic_records

from gapwatch.api import Runtime
from gapwatch.auth.tokens import create_token
from gapwatch.domain.access import Role
from gapwatch.live.state import live_state_snapshot


@pytest.fixture(scope="module")
def runtime() -> Iterator[Runtime]:
    rt = event_runtime(live_config())
    replay(rt, synthetic_records(), batch=400)
    yield rt
    rt.close()


@pytest.fixture(scope="module")
def client(runtime: Runtime) -> Iterator[httpx.Client]:
    token = runtime.write(lambda con: create_token(con, Role.MEMBER, silo="marketing"))[0]
    with serving(runtime) as url, httpx.Client(base_url=url, timeout=10) as c:
        c.headers["Authorization"] = f"Bearer {token}"  # a member of another silo reads them all
        yield c


def test_streams_list_every_stream_with_its_place_method_and_state(
    client: httpx.Client, runtime: Runtime
) -> None:
    body = client.get("/v1/streams").json()
    by_id = {s["id"]: s for s in body["items"]}
    assert body["count"] == len(runtime.live.views) == 7
    assert body["closed_through"] == runtime.live.closed_through.isoformat()  # type: ignore[union-attr]
    parent = by_id["delivery:*:delivery_days"]
    assert (parent["level"], parent["stage"], parent["silo"]) == ("moment", "fulfilment", "delivery")
    assert parent["state"] == "signalled" and parent["signals"] > 0 and parent["resolution"] == "day"
    assert by_id["delivery:premium:delivery_days"]["state"] == "signalled"
    assert by_id["renewal_offer:all:renewal_notice_days"]["state"] == "too thin"
    assert sum(s["events"] for s in body["items"] if s["level"] == "segment" or s["segment"] != "*") > 0
    only = client.get("/v1/streams", params={"silo": "delivery", "state": "signalled"}).json()["items"]
    assert {s["id"] for s in only} >= {"delivery:*:delivery_days", "delivery:premium:delivery_days"}
    assert all(s["silo"] == "delivery" for s in only)


def test_a_chart_is_the_live_state_of_its_stream(client: httpx.Client, runtime: Runtime) -> None:
    chart = client.get("/v1/streams/delivery:premium:delivery_days/chart").json()
    view = runtime.live.views[("delivery", "premium", "delivery_days")]
    assert [p["period"] for p in chart["points"]] == [d.isoformat() for d in view.periods]
    assert [p["n"] for p in chart["points"]] == [int(x) for x in view.n]
    ucl = view.charts["miss_rate"].ucl
    assert [p["p"]["ucl"] for p in chart["points"]] == pytest.approx([float(x) for x in ucl], nan_ok=True)
    live = live_state_snapshot(runtime).signals.to_pylist()
    mine = [s for s in live if (s["moment"], s["segment"]) == ("delivery", "premium")]
    assert [(s["period"], s["chart"]) for s in chart["signals"]] == [
        (s["period"].isoformat(), s["chart"]) for s in mine
    ]
    assert chart["p_chart"] in ("p", "pprime") and chart["ewma_chart"] == "ewma"
    assert chart["signals"][-1]["provisional"] is True  # today's point, judged on a partial day
    window = client.get(
        "/v1/streams/delivery:*:delivery_days/chart",
        params={"since": "2026-02-01", "until": "2026-02-07"},
    ).json()
    assert [p["period"] for p in window["points"]] == [f"2026-02-{d:02d}" for d in range(1, 8)]


def test_unknown_and_malformed_streams(client: httpx.Client) -> None:
    assert client.get("/v1/streams/delivery:gold:delivery_days/chart").status_code == 404
    assert client.get("/v1/streams/Delivery/chart").status_code == 422
    assert client.get("/v1/streams/delivery:*:delivery_days/chart", params={"since": "0"}).status_code == 422
    assert client.get("/v1/streams", headers={"Authorization": "Bearer nope"}).status_code == 401
