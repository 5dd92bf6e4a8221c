"""The insight pages over HTTP: each silo's at-risk list, the perspectives charts, risk and text
on the customer page; the kept scoring behind the lists (answers at once, re-scores after events)."""

from __future__ import annotations

import datetime as dt
import html
import re
import time
from collections.abc import Callable

import httpx
import pytest
from webhelpers import Served

from gapwatch.domain.access import Role

pytestmark = pytest.mark.filterwarnings("ignore:fetch_arrow_table:DeprecationWarning")
Login = Callable[[str], httpx.Client]
LISTED = re.compile(r'<tr>\s*<td><a href="/customers/([^"]+)">')


def _api(served: Served, path: str, **params: str) -> dict:  # type: ignore[type-arg]
    r = httpx.get(
        f"{served.url}/v1{path}",
        params=params,
        headers={"Authorization": f"Bearer {served.token(Role.ANALYST)}"},
        timeout=120,
    )
    assert r.status_code == 200, r.text
    out: dict = r.json()  # type: ignore[type-arg]
    return out


def _settled(served: Served) -> dict:  # type: ignore[type-arg]
    """The list once no re-scoring is under way (other tests post events too)."""
    deadline = time.monotonic() + 120
    while (found := _api(served, "/risk"))["refreshing"]:
        assert time.monotonic() < deadline, "the re-scoring did not finish"
        time.sleep(0.5)
    return found


def test_a_first_list_is_scored_in_the_background_and_the_page_reloads(served: Served, login: Login) -> None:
    from gapwatch.insight.risk import BOARD_ATTR

    if hasattr(served.runtime, BOARD_ATTR):
        delattr(served.runtime, BOARD_ATTR)  # as a service that just started
    analyst = login(served.token(Role.ANALYST))
    first = analyst.get("/risk").text
    assert '<meta http-equiv="refresh" content="5">' in first and "reloads itself" in first
    deadline = time.monotonic() + 120
    while "reloads itself" in (page := analyst.get("/risk").text):
        assert time.monotonic() < deadline, "the first scoring did not finish"
        time.sleep(0.5)
    assert LISTED.findall(page) and 'http-equiv="refresh"' not in page


def test_a_members_at_risk_list_is_their_silos_and_the_apis(served: Served, login: Login) -> None:
    _settled(served)
    member = login(served.token(Role.MEMBER, silo="delivery"))
    page = member.get("/risk").text
    assert "<h1>At-risk customers: delivery</h1>" in page
    listed = LISTED.findall(page)
    api = _api(served, "/risk", silo="delivery", limit="100")
    assert listed == [r["customer_id"] for r in api["at_risk"]]  # the same customers, in the same order
    assert listed and all(any(x["silo"] == "delivery" for x in r["reasons"]) for r in api["at_risk"])
    # any reader may look at another silo's list, as in the API; "*" is every silo
    other = member.get("/risk", params={"silo": "sales"}).text
    assert "<h1>At-risk customers: sales</h1>" in other
    every = member.get("/risk", params={"silo": "*"}).text
    assert "<h1>At-risk customers: every silo</h1>" in every
    analyst = login(served.token(Role.ANALYST))
    assert "<h1>At-risk customers: every silo</h1>" in analyst.get("/risk").text
    assert "<h1>At-risk customers: every silo</h1>" in analyst.get("/risk", params={"silo": "nope"}).text


def test_the_kept_scoring_answers_at_once_and_rescores_after_new_events(served: Served) -> None:
    first = _settled(served)
    again = _api(served, "/risk")
    assert again["scored_at"] == first["scored_at"] and not again["refreshing"]
    with served.runtime.reader() as con:
        last = con.execute("SELECT max(occurred_at) FROM experiences").fetchone()[0]
    events = [
        {
            "event_id": f"web-insight-{k}",
            "customer_id": "C-web-insight",
            "occurred_at": (last.astimezone(dt.UTC) + dt.timedelta(minutes=k)).isoformat(),
            "moment": "delivery",
            "metric": "delivery_days",
            "value": 20.0 + k,
        }
        for k in range(3)
    ]
    r = httpx.post(
        f"{served.url}/v1/events",
        json={"source": "orders", "events": events},
        headers={"Authorization": f"Bearer {served.token(Role.ADMIN)}"},
        timeout=30,
    )
    assert r.status_code == 200 and r.json()["accepted"] == 3, r.text
    stale = _api(served, "/risk")
    assert stale["scored_at"] == first["scored_at"] and stale["refreshing"]  # the kept list, at once
    fresh = _settled(served)
    assert fresh["scored_at"] > first["scored_at"]
    assert fresh["scored"] == first["scored"] + 1  # the new customer is on their journey now
    # one customer's own risk is never from the kept list: scored on their events at once
    mine = _api(served, "/customers/C-web-insight/risk")
    assert mine["risk"] is not None and mine["reasons"][0]["moment"] == "delivery"


def test_perspectives_page_draws_the_apis_gaps(served: Served, login: Login) -> None:
    member = login(served.token(Role.MEMBER, silo="sales"))
    page = member.get("/perspectives").text
    assert "<h1>Perspectives: sales</h1>" in page
    assert page.count('<figure class="intervals">') == 3
    api = _api(served, "/perspectives", silo="sales")
    period = max(g["period"] for g in api["gaps"])
    gap = next(
        g
        for g in api["gaps"]
        if g["silo"] == "sales" and g["dimension"] == "all" and g["gap"] == "leader-customer"
        if g["period"] == period
    )
    text = html.unescape(page)
    low, high = gap["low"], gap["high"]
    hover = f"all dimensions, leaders − customers: {gap['estimate']:+.2f} [{low:+.2f}, {high:+.2f}]"
    assert hover in text  # the point's hover text carries the API's numbers
    assert f'<option value="{period}" selected>' in page
    pooled = member.get("/perspectives", params={"silo": "delivery", "period": "pooled"}).text
    assert "<h1>Perspectives: delivery</h1>" in pooled and "period all pooled" in html.unescape(pooled)


def test_customer_page_shows_risk_and_what_the_comments_say(served: Served, login: Login) -> None:
    with served.runtime.reader() as con:
        cid = con.execute(
            "SELECT min(i.customer_id) FROM identities i "
            "JOIN experiences e ON e.customer_key = i.customer_key "
            "JOIN text_signals t ON t.source = e.source AND t.event_id = e.event_id "
            "WHERE list_contains(t.intents, 'complaint')"
        ).fetchone()[0]
    page = login(served.token(Role.MEMBER, silo="marketing")).get(f"/customers/{cid}").text
    words = html.unescape(re.sub(r"<[^>]+>", "", page))
    api = _api(served, f"/customers/{cid}/risk")
    risk = api["risk"]
    shown = ">99%" if risk >= 0.995 else "<1%" if risk < 0.005 else f"{risk * 100:.0f}%"
    assert f"{shown} chance of a bad outcome (nps <= 6)" in words
    assert "What their comments say" in words and 'class="chip chip-complaint"' in page
    assert "Unacceptable" in words  # the comment itself, with its signals beside it
