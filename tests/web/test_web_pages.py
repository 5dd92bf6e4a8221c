"""The web app over HTTP (no browser): sign-in, sessions, CSRF, redirects, refusals, error pages."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest
from webhelpers import Served, csrf_of

from gapwatch.auth.sessions import create_login_link
from gapwatch.auth.tokens import authenticate, revoke_token
from gapwatch.customers import erasure as customer_svc
from gapwatch.domain.access import Role
from gapwatch.quality.inbox import inbox

pytestmark = pytest.mark.filterwarnings("ignore:fetch_arrow_table:DeprecationWarning")
Login = Callable[[str], httpx.Client]
PAGES = ["/", "/inbox", "/customers", "/customers?q=C0", "/risk", "/perspectives"]


def _case_of(served: Served, silo: str | None = None, exclude: str | None = None) -> tuple[str, str]:
    with served.runtime.reader() as con:
        items = [i for i in inbox(con) if i.active and (silo is None or i.case.silo == silo)]
        items = [i for i in items if exclude is None or i.case.silo != exclude]
    assert items, f"the small world has no active case for {silo or 'any silo'}"
    return items[0].case.id, items[0].case.silo


def _stream(served: Served) -> str:
    with served.runtime.reader() as con:
        return str(
            con.execute("SELECT moment || ':' || segment || ':' || metric FROM signals LIMIT 1").fetchone()[0]
        )


def test_signed_out_visitors_are_sent_to_sign_in_and_see_nothing(served: Served) -> None:
    case_id, _ = _case_of(served)
    paths = [*PAGES, f"/streams/{_stream(served)}", f"/cases/{case_id}", "/customers/C0000001"]
    with httpx.Client(base_url=served.url) as anon:
        for path in paths:
            r = anon.get(path)
            assert r.status_code == 303, path
            assert r.headers["location"].startswith("/login?next="), path
            assert r.text == ""
        r = anon.get(f"/streams/{_stream(served)}/charts", headers={"HX-Request": "true"})
        assert r.status_code == 401 and r.headers["HX-Redirect"].startswith("/login")
        assert anon.post(f"/cases/{case_id}/act", data={"action": "acknowledge"}).status_code == 303
    with httpx.Client(base_url=served.url, cookies={"gw_session": "x" * 43}) as forged:
        assert forged.get("/").status_code == 303


def test_sign_in_sets_a_strict_httponly_session_cookie(served: Served) -> None:
    token = served.token(Role.ANALYST)
    with httpx.Client(base_url=served.url) as c:
        r = c.post("/login", data={"token": token, "next": "/inbox"}, headers={"Origin": served.url})
        assert r.status_code == 303 and r.headers["location"] == "/inbox"
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
        sid = re.search(r"gw_session=([^;]+)", cookie).group(1)  # type: ignore[union-attr]
        assert token not in cookie
        with served.runtime.reader() as con:  # the store keeps a hash, never the session id
            stored = [r[0] for r in con.execute("SELECT id_hash FROM web_sessions").fetchall()]
        assert sid not in stored and len(stored) >= 1
        assert c.get("/inbox").status_code == 200


def test_bad_tokens_ingest_keys_and_foreign_forms_cannot_sign_in(served: Served) -> None:
    with httpx.Client(base_url=served.url) as c:
        assert c.post("/login", data={"token": "gw_x_nope"}).status_code == 401
        assert c.post("/login", data={"token": ""}).status_code == 401
        ingest = served.token(Role.INGEST, source="crm")
        r = c.post("/login", data={"token": ingest})
        assert r.status_code == 403 and "ingest key" in r.text and "set-cookie" not in r.headers
        analyst = served.token(Role.ANALYST)
        r = c.post("/login", data={"token": analyst}, headers={"Origin": "http://evil.example"})
        assert r.status_code == 403 and "set-cookie" not in r.headers


def test_sign_in_never_redirects_off_site(served: Served) -> None:
    token = served.token(Role.ANALYST)
    with httpx.Client(base_url=served.url) as c:
        for target in ("//evil.example/x", "https://evil.example", "/\\evil.example", "javascript:alert(1)"):
            r = c.post("/login", data={"token": token, "next": target})
            assert r.headers["location"] == "/", target


def test_a_one_time_link_works_once(served: Served) -> None:
    token = served.token(Role.ANALYST)
    with served.runtime.reader() as con:
        record = authenticate(con, token)
    assert record is not None
    import datetime as dt

    code = served.runtime.write(lambda c: create_login_link(c, record.id, dt.timedelta(minutes=5)))
    with httpx.Client(base_url=served.url) as first:
        r = first.get(f"/login/once?code={code}")
        assert r.status_code == 303 and "gw_session=" in r.headers["set-cookie"]
        assert first.get("/").status_code == 200
    with httpx.Client(base_url=served.url) as second:
        r = second.get(f"/login/once?code={code}")
        assert r.status_code == 401 and "set-cookie" not in r.headers
        assert second.get("/login/once?code=").status_code == 401


def test_revoking_the_token_ends_its_sessions(served: Served, login: Login) -> None:
    token = served.token(Role.ANALYST)
    client = login(token)
    assert client.get("/").status_code == 200
    with served.runtime.reader() as con:
        record = authenticate(con, token)
    assert record is not None
    served.runtime.write(lambda c: revoke_token(c, record.id))
    assert client.get("/").status_code == 303


def test_logout_needs_the_csrf_secret_and_ends_the_session(served: Served, login: Login) -> None:
    client = login(served.token(Role.ANALYST))
    assert client.post("/logout").status_code == 403
    assert client.get("/").status_code == 200
    r = client.post("/logout", data={"csrf": csrf_of(client)})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert client.get("/").status_code == 303


def test_actions_need_csrf_and_the_api_rule(served: Served, login: Login) -> None:
    case_id, silo = _case_of(served)
    other = next(s for s in served.runtime.lifecycle.silos if s != silo)
    outsider = login(served.token(Role.MEMBER, silo=other))
    r = outsider.post(
        f"/cases/{case_id}/act", data={"action": "comment", "note": "x", "csrf": csrf_of(outsider)}
    )
    assert r.status_code == 403 and f"may not act on silo {silo!r}" in r.text.replace("&#39;", "'")
    owner = login(served.token(Role.MEMBER, silo=silo))
    assert owner.post(f"/cases/{case_id}/act", data={"action": "comment", "note": "x"}).status_code == 403
    foreign = {"Origin": "http://evil.example"}
    token = csrf_of(owner)
    r = owner.post(
        f"/cases/{case_id}/act", data={"action": "comment", "note": "x", "csrf": token}, headers=foreign
    )
    assert r.status_code == 403
    r = owner.post(
        f"/cases/{case_id}/act", data={"action": "comment", "note": "seen on the web", "csrf": token}
    )
    assert r.status_code == 200 and "recorded in the audit trail" in r.text
    api = httpx.get(
        f"{served.url}/v1/cases/{case_id}", headers={"Authorization": f"Bearer {served.token(Role.ANALYST)}"}
    ).json()
    assert any(e["detail"].get("note") == "seen on the web" for e in api["events"])
    r = owner.post(f"/cases/{case_id}/act", data={"action": "close", "csrf": token})
    assert r.status_code == 409 and "cannot close" in r.text
    r = owner.post(f"/cases/{case_id}/act", data={"action": "reopen", "csrf": token})
    assert r.status_code == 400


def test_pages_render_for_every_reading_role(served: Served, login: Login) -> None:
    case_id, _ = _case_of(served)
    stream = _stream(served)
    for role, silo in ((Role.ADMIN, None), (Role.ANALYST, None), (Role.MEMBER, "sales")):
        client = login(served.token(role, silo=silo))
        for path in [*PAGES, f"/streams/{stream}", f"/cases/{case_id}"]:
            r = client.get(path)
            assert r.status_code == 200, (role, path)
            assert "text/html" in r.headers["content-type"]
            assert (
                r.headers["x-frame-options"] == "DENY"
                and "script-src 'self'" in r.headers["content-security-policy"]
            )
            assert not re.search(r'(?:src|href)="(?:https?:)?//', r.text), "nothing is fetched from elsewhere"


def test_stream_fragment_answers_204_until_something_changes(served: Served, login: Login) -> None:
    client = login(served.token(Role.ANALYST))
    stream = _stream(served)
    page = client.get(f"/streams/{stream}").text
    version = re.search(r'data-version="([0-9a-f]+)"', page).group(1)  # type: ignore[union-attr]
    assert client.get(f"/streams/{stream}/charts?v={version}").status_code == 204
    r = client.get(f"/streams/{stream}/charts?v=stale")
    assert r.status_code == 200 and 'id="charts"' in r.text and "<svg" in r.text


def test_errors_are_pages_here_and_json_under_v1(served: Served, login: Login) -> None:
    client = login(served.token(Role.ANALYST))
    for path in ("/streams/nope:*:x", "/streams/NOT-AN-ID", "/cases/cs_nope", "/customers/nobody-at-all"):
        r = client.get(path)
        assert r.status_code == 404 and "text/html" in r.headers["content-type"], path
    r = client.get("/no/such/page")
    assert r.status_code == 404 and "text/html" in r.headers["content-type"]
    r = httpx.get(f"{served.url}/v1/no/such/route")
    assert r.status_code == 404 and r.json()["code"]
    assert httpx.get(f"{served.url}/static/vendor/htmx-LICENSE.txt").status_code == 200


def test_customer_search_and_erased_customers(served: Served, login: Login) -> None:
    client = login(served.token(Role.ANALYST))
    with served.runtime.reader() as con:
        # (ids are stored lower-cased: the workspace's identifier rule)
        sql = "SELECT customer_id FROM identities WHERE customer_id LIKE 'c0%' ORDER BY 1 LIMIT 2"
        ids = [r[0] for r in con.execute(sql).fetchall()]
    r = client.get(f"/customers?q={ids[0]}")
    assert r.status_code == 303 and r.headers["location"] == f"/customers/{ids[0]}"
    r = client.get(f"/customers?q={ids[0][:3]}")
    assert r.status_code == 200 and ids[0] in r.text
    assert client.get(f"/customers/{ids[1]}").status_code == 200
    served.runtime.write(lambda c: customer_svc.erase(c, ids[1], "test"))
    r = client.get(f"/customers/{ids[1]}")
    assert r.status_code == 404 and ids[1] not in r.text.replace(f"/customers/{ids[1]}", "")
    found = client.get(f"/customers?q={ids[1]}").text
    assert f'href="/customers/{ids[1]}"' not in found
