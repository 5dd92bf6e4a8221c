"""Access matrix: every route × every role × objects of every silo, generated from the OpenAPI spec.

The oracle below is DESIGN.md's "Who may do what" table, copied by hand (not imported), so
the server is checked against the design rather than against itself. A route in the spec
without an access policy, or without a request recipe here, fails the test.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from apihelpers import bearer, serve, signal

from gapwatch.api import Runtime, create_app
from gapwatch.auth.tokens import create_token, revoke_token
from gapwatch.domain.access import POLICY
from gapwatch.domain.alerts import SignalFacts
from gapwatch.ingest.batches import ingest_records
from gapwatch.quality import alerts as alert_svc
from gapwatch.quality import webhooks as hook_svc

ORACLE: dict[str, dict[str, str]] = {
    "ingest": {"admin": "all", "ingest": "own_source"},
    "read": {"admin": "all", "analyst": "all", "member": "all"},
    "act": {"admin": "all", "analyst": "all", "member": "own_silo"},
    "privacy": {"admin": "all"},
    "admin": {"admin": "all"},
    "metrics": {"admin": "all", "metrics": "all"},
}
SILOS = ("marketing", "sales", "delivery", "success")
SOURCES = ("crm", "web", "crm", "web")  # one per silo variant
MOMENT_OF = {
    "marketing": "demo_request",
    "sales": "quote",
    "delivery": "delivery",
    "success": "support_ticket",
}
METRIC_OF = {
    "demo_request": "response_hours",
    "quote": "quote_turnaround_hours",
    "delivery": "delivery_days",
    "support_ticket": "first_response_hours",
}
REPEATS = 2


@dataclass(frozen=True)
class Caller:
    name: str
    role: str | None  # None: no valid token
    silo: str | None = None
    source: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class World:
    runtime: Runtime
    alerts: dict[str, str] = field(default_factory=dict)
    cases: dict[str, str] = field(default_factory=dict)
    hooks: dict[str, str] = field(default_factory=dict)
    counter: itertools.count[int] = field(default_factory=itertools.count)

    def write(self, job: Callable[[Any], Any]) -> Any:
        return self.runtime.write(job)

    def fresh_hook(self, silo: str) -> str:
        return str(
            self.write(
                lambda c: hook_svc.create_webhook(
                    c,
                    silo=silo,
                    url="http://127.0.0.1:9/hook",
                    kind=hook_svc.WebhookKind.JSON,
                    min_severity=hook_svc.Severity.MINOR,
                    actor="test",
                )
            ).id
        )

    customers: dict[str, list[str]] = field(default_factory=dict)
    streams: dict[str, str] = field(default_factory=dict)

    def seed_stream(self, silo: str) -> None:
        """One event through the live path, so the silo's moment has a stream with a chart."""
        event = _event(f"stream-{silo}", silo)
        self.runtime.writer.call(self.runtime.ingest_job([event], "api"))  # (undeclared: any moment)
        self.streams[silo] = f"{event['moment']}:all:{event['metric']}"

    def seed_customers(self, silo: str, n: int) -> None:
        ids = [f"C-{silo}-{i}" for i in range(n)]
        events = [_event(cid, silo, cid) for cid in ids]
        self.runtime.writer.call(
            lambda: ingest_records(self.runtime.store, events, "api", self.runtime.config)
        )
        self.customers[silo] = ids

    def fresh_customer(self, silo: str) -> str:
        return self.customers[silo].pop()

    def fresh_token(self) -> str:
        from gapwatch.domain.access import Role

        return str(self.write(lambda c: create_token(c, Role.ANALYST))[1].id)


def _event(event_id: str, silo: str, customer: str = "C-1", source_day: int = 3) -> dict[str, Any]:
    moment = MOMENT_OF[silo]
    return {
        "event_id": event_id,
        "customer_id": customer,
        "occurred_at": f"2026-03-{source_day:02d}T10:00:00Z",
        "moment": moment,
        "metric": METRIC_OF[moment],
        "value": 3.0,
    }


def _file(world: World, source: str) -> bytes:
    """A one-line JSONL file in the shape of ``source``'s mapping (a fresh event id each time)."""
    n = next(world.counter)
    row: dict[str, Any] = (
        {"hit_id": f"f-{n}", "visitor_id": "V-1", "ts": "2026-03-03T10:00:00Z", "page_type": "landing"}
        | {"load_time_ms": 900}
        if source == "web"
        else {"Activity ID": f"f-{n}", "Contact ID": "C-1", "Created Date": "2026-03-03T10:00:00Z"}
        | {"Activity Type": "Quote Sent", "Account Tier": "Standard", "Elapsed": 5}
    )
    return json.dumps(row).encode() + b"\n"


def _message(w: World, kind: str) -> dict[str, Any]:
    """A tracking message of ``kind`` with a fresh message id."""
    n = next(w.counter)
    base = {"type": kind, "messageId": f"mx-{n}", "userId": f"U-{n}", "timestamp": "2026-03-03T10:00:00Z"}
    extra = {"track": {"event": "Signed Up"}, "page": {"name": "Home"}, "screen": {"name": "Home"}}
    return {**base, **extra.get(kind, {}), **({"previousId": f"V-{n}"} if kind == "alias" else {})}


def _delivery(w: World) -> dict[str, Any]:
    """A Formbricks "response finished" item with a fresh response id."""
    n = next(w.counter)
    data = {
        "id": f"resp-{n}",
        "updatedAt": "2026-03-03T10:00:00Z",
        "data": {"customer_id": f"U-{n}", "nps": 8},
    }
    return {"event": "responseFinished", "data": data}


def _single(w: World, silo: str, src: str, kind: str) -> tuple[dict[str, str], dict[str, str], Any]:
    return NONE, NONE, _message(w, kind)


Recipe = Callable[[World, str, str], tuple[dict[str, str], dict[str, str], Any]]
NONE: dict[str, str] = {}
RECIPES: dict[str, Recipe] = {
    "ingest_events": lambda w, silo, src: (
        NONE,
        NONE,
        {"source": src, "events": [_event(f"m-{next(w.counter)}", silo)]},
    ),
    "ingest_file": lambda w, silo, src: (NONE, {"source": src, "name": "e.jsonl"}, _file(w, src)),
    "list_alerts": lambda w, silo, src: (NONE, {"silo": silo}, None),
    "false_alarm_rate": lambda w, silo, src: (NONE, NONE, None),
    "get_alert": lambda w, silo, src: ({"alert_id": w.alerts[silo]}, NONE, None),
    "mark_alert": lambda w, silo, src: ({"alert_id": w.alerts[silo]}, NONE, {"verdict": "true_alarm"}),
    "list_cases": lambda w, silo, src: (NONE, {"silo": silo}, None),
    "get_case": lambda w, silo, src: ({"case_id": w.cases[silo]}, NONE, None),
    "act_on_case": lambda w, silo, src: (
        {"case_id": w.cases[silo]},
        NONE,
        {"action": "comment", "note": "x"},
    ),
    "get_customer": lambda w, silo, src: ({"customer_id": w.fresh_customer(silo)}, NONE, None),
    "export_customer": lambda w, silo, src: ({"customer_id": w.fresh_customer(silo)}, NONE, None),
    "erase_customer": lambda w, silo, src: ({"customer_id": w.fresh_customer(silo)}, NONE, None),
    "list_webhooks": lambda w, silo, src: (NONE, {"silo": silo}, None),
    "create_webhook": lambda w, silo, src: (NONE, NONE, {"silo": silo, "url": "https://hooks.example.com/x"}),
    "get_webhook": lambda w, silo, src: ({"webhook_id": w.hooks[silo]}, NONE, None),
    "delete_webhook": lambda w, silo, src: ({"webhook_id": w.fresh_hook(silo)}, NONE, None),
    "list_webhook_deliveries": lambda w, silo, src: ({"webhook_id": w.hooks[silo]}, NONE, None),
    "list_tokens": lambda w, silo, src: (NONE, NONE, None),
    "create_token": lambda w, silo, src: (NONE, NONE, {"role": "member", "silo": silo}),
    "revoke_token": lambda w, silo, src: ({"token_id": w.fresh_token()}, NONE, None),
    "get_lifecycle": lambda w, silo, src: (NONE, NONE, None),
    "list_streams": lambda w, silo, src: (NONE, {"silo": silo}, None),
    "get_stream_chart": lambda w, silo, src: ({"stream_id": w.streams[silo]}, NONE, None),
    "get_config": lambda w, silo, src: (NONE, NONE, None),
    "list_rejected": lambda w, silo, src: (NONE, {"source": src}, None),
    "get_perspectives": lambda w, silo, src: (NONE, {"silo": silo}, None),
    "ingest_answers": lambda w, silo, src: (
        NONE,
        NONE,
        {"source": src, "answers": [_answer(w, silo)]},
    ),
    "list_at_risk": lambda w, silo, src: (NONE, {"silo": silo}, None),
    "get_customer_risk": lambda w, silo, src: ({"customer_id": w.customers[silo][0]}, NONE, None),
    "get_risk_model": lambda w, silo, src: (NONE, NONE, None),
    "retrain_risk_model": lambda w, silo, src: (NONE, NONE, None),
    "get_drivers": lambda w, silo, src: (NONE, {"replicates": "10"}, None),
    "get_text_summary": lambda w, silo, src: (NONE, {"silo": silo}, None),
    "analyse_text": lambda w, silo, src: (NONE, NONE, None),
    "get_report": lambda w, silo, src: (NONE, NONE, None),
    "collect_batch": lambda w, silo, src: (
        NONE,
        NONE,
        {"batch": [_message(w, "track"), _message(w, "page")]},
    ),
    **{f"collect_{kind}": functools.partial(_single, kind=kind) for kind in ("track", "identify", "page")},
    **{f"collect_{kind}": functools.partial(_single, kind=kind) for kind in ("screen", "group", "alias")},
    "collect_webhook": lambda w, silo, src: ({"source": src}, NONE, _delivery(w)),
    "get_metrics": lambda w, silo, src: (NONE, NONE, None),
    "export_table": lambda w, silo, src: ({"what": "experiences"}, {"since": "2026-03-01"}, None),
}
# Routes whose source is not the silo variant's: the tracking API (a write key's own source) and webhooks.
RECIPE_SOURCE = {
    f"collect_{k}": "segment" for k in ("batch", "track", "identify", "page", "screen", "group", "alias")
}
RECIPE_SOURCE["collect_webhook"] = "formbricks"


def _answer(world: World, silo: str) -> dict[str, Any]:
    return {
        "respondent_id": f"L-{silo}-{next(world.counter)}",
        "perspective": "leader",
        "silo": silo,
        "dimension": "reliability",
        "item": "reliability_1",
        "kind": "P",
        "score": 6,
        "answered_at": "2026-03-03T10:00:00Z",
    }


def _callers(world: World) -> list[Caller]:
    from gapwatch.domain.access import Role

    def token(role: Role, **kw: str) -> str:
        return str(world.write(lambda c: create_token(c, role, **kw))[0])

    revoked_plain, revoked = world.write(lambda c: create_token(c, Role.ADMIN))
    world.write(lambda c: revoke_token(c, revoked.id))
    callers = [
        Caller("admin", "admin", headers=bearer(token(Role.ADMIN))),
        Caller("analyst", "analyst", headers=bearer(token(Role.ANALYST))),
    ]
    callers += [
        Caller(f"member:{s}", "member", silo=s, headers=bearer(token(Role.MEMBER, silo=s))) for s in SILOS
    ]
    callers += [
        Caller(f"ingest:{s}", "ingest", source=s, headers=bearer(token(Role.INGEST, source=s)))
        for s in ("crm", "web", "segment", "formbricks")
    ]
    callers += [Caller("metrics", "metrics", headers=bearer(token(Role.METRICS)))]
    callers += [
        Caller("anonymous", None),
        Caller("unknown token", None, headers=bearer("gw_x_unknown")),
        Caller("revoked admin", None, headers=bearer(revoked_plain)),
        Caller("basic scheme", None, headers={"Authorization": "Basic YWRtaW46YWRtaW4="}),
    ]
    return callers


def _expected(group: str, caller: Caller, silo: str, source: str) -> bool:
    scope = ORACLE.get(group, {}).get(caller.role or "")
    if scope is None:
        return False
    if scope == "own_silo":
        return caller.silo == silo
    if scope == "own_source":
        return caller.source == source
    return True


def _seed(world: World) -> None:
    for silo in SILOS:
        moment = MOMENT_OF[silo]
        facts: SignalFacts = signal(
            moment=moment, segment="all", metric=METRIC_OF[moment], period=dt.date(2026, 3, 2)
        )
        alert = world.write(
            lambda c, f=facts: alert_svc.raise_alert(c, f, world.runtime.lifecycle, world.runtime.config)
        )
        world.alerts[silo], world.cases[silo] = alert.id, alert.case_id
        world.hooks[silo] = world.fresh_hook(silo)
        world.seed_customers(silo, 3 * 16 * REPEATS)
        world.seed_stream(silo)


def test_policy_table_is_the_design_table() -> None:
    assert {g.value: {r.value: s.value for r, s in roles.items()} for g, roles in POLICY.items()} == ORACLE


def test_every_route_every_role_every_silo(runtime: Runtime) -> None:
    world = World(runtime)
    _seed(world)
    callers = _callers(world)
    spec = create_app(runtime, close_on_shutdown=False).openapi()
    operations = [(path, method, op) for path, item in spec["paths"].items() for method, op in item.items()]
    missing = [
        op["operationId"]
        for _, _, op in operations
        if "x-gapwatch-access" not in op or op["operationId"] not in RECIPES
    ]
    assert missing == [], f"routes without an access policy or a recipe in this test: {missing}"
    attempts, wrongly_allowed, wrongly_denied = 0, [], []
    app = create_app(runtime, close_on_shutdown=False)
    with serve(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        for _, (path, method, op), caller, (silo, variant) in itertools.product(
            range(REPEATS), operations, callers, zip(SILOS, SOURCES, strict=True)
        ):
            source = RECIPE_SOURCE.get(op["operationId"], variant)
            params, query, body = RECIPES[op["operationId"]](world, silo, source)
            raw = body if isinstance(body, bytes) else None  # a file upload
            r = client.request(
                method.upper(),
                path.format(**params),
                params=query,
                json=None if raw is not None else body,
                content=raw,
                headers=caller.headers,
            )
            attempts += 1
            label = f"{method.upper()} {path} as {caller.name} on {silo}/{source}: {r.status_code}"
            allowed = _expected(op["x-gapwatch-access"], caller, silo, source)
            if allowed and not 200 <= r.status_code < 300:
                wrongly_denied.append(f"{label} {r.text[:200]}")
            if not allowed and r.status_code not in ((401,) if caller.role is None else (401, 403)):
                wrongly_allowed.append(f"{label} {r.text[:200]}")
            assert r.status_code < 500, label
    print(
        f"access matrix: {attempts} attempts, {len(wrongly_allowed)} wrongly allowed, "
        f"{len(wrongly_denied)} wrongly denied"
    )
    assert attempts >= 2000
    assert wrongly_allowed == []
    assert wrongly_denied == []


# --- the web app's pages: the same table, through a browser's session ------------------------------

WEB_PUBLIC = {("GET", "/login"), ("POST", "/login"), ("GET", "/login/once"), ("POST", "/logout")}
WebRecipe = Callable[[World, str], tuple[str, dict[str, str] | None]]  # -> (path, form or None for GET)
WEB_RECIPES: dict[tuple[str, str], tuple[str, WebRecipe]] = {
    ("GET", "/"): ("read", lambda w, silo: ("/", None)),
    ("GET", "/inbox"): ("read", lambda w, silo: (f"/inbox?silo={silo}", None)),
    ("GET", "/streams/{stream_id}"): ("read", lambda w, silo: (f"/streams/{w.streams[silo]}", None)),
    ("GET", "/streams/{stream_id}/charts"): (
        "read",
        lambda w, silo: (f"/streams/{w.streams[silo]}/charts?v=stale", None),
    ),
    ("GET", "/cases/{case_id}"): ("read", lambda w, silo: (f"/cases/{w.cases[silo]}", None)),
    ("GET", "/customers"): ("read", lambda w, silo: (f"/customers?q=C-{silo}-", None)),
    ("GET", "/customers/{customer_id:path}"): (
        "read",
        lambda w, silo: (f"/customers/{w.customers[silo][0]}", None),
    ),
    ("GET", "/perspectives"): ("read", lambda w, silo: (f"/perspectives?silo={silo}", None)),
    ("GET", "/risk"): ("read", lambda w, silo: (f"/risk?silo={silo}", None)),
    ("POST", "/cases/{case_id}/act"): (
        "act",
        lambda w, silo: (f"/cases/{w.cases[silo]}/act", {"action": "comment", "note": "x"}),
    ),
    ("POST", "/alerts/{alert_id}/verdict"): (
        "act",
        lambda w, silo: (f"/alerts/{w.alerts[silo]}/verdict", {"verdict": "true_alarm"}),
    ),
}


def _web_routes(app: Any) -> list[tuple[str, str]]:
    from fastapi.routing import APIRoute

    def flat(routes: list[Any]) -> Iterator[Any]:  # FastAPI keeps an included router's routes inside it
        for route in routes:
            inner = getattr(route, "original_router", None)
            yield from flat(inner.routes) if inner is not None else [route]

    found = []
    for route in flat(app.routes):
        if (
            isinstance(route, APIRoute)
            and not route.include_in_schema
            and not route.path.startswith("/static")
        ):
            found += [(m, route.path) for m in sorted(route.methods or ())]
    return found


def _web_callers(world: World, url: str) -> list[tuple[Caller, httpx.Client, str]]:
    """Every caller of the API table, signed in through the form where the token may sign in."""
    out = []
    for caller in _callers(world):
        client = httpx.Client(base_url=url, timeout=30)
        token = caller.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        csrf = ""
        if token and caller.role is not None:
            r = client.post("/login", data={"token": token})
            signed = r.status_code == 303
            assert signed == (caller.role not in MACHINE_CALLERS), f"{caller.name}: sign-in {r.status_code}"
            if signed:
                csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/customers").text).group(1)  # type: ignore[union-attr]
        out.append((caller, client, csrf))
    # a session whose token is revoked afterwards is dead at once
    from gapwatch.domain.access import Role

    plain, record = world.write(lambda c: create_token(c, Role.ADMIN))
    late = httpx.Client(base_url=url, timeout=30)
    assert late.post("/login", data={"token": plain}).status_code == 303
    csrf = re.search(r'name="csrf" value="([^"]+)"', late.get("/customers").text).group(1)  # type: ignore[union-attr]
    world.write(lambda c: revoke_token(c, record.id))
    out.append((Caller("session of a revoked admin", None), late, csrf))
    return out


MACHINE_CALLERS = ("ingest", "metrics")  # tokens of machines: refused at the web sign-in


def _web_expected(group: str, caller: Caller, silo: str) -> bool:
    if caller.role in MACHINE_CALLERS:  # an ingest or metrics token cannot sign in: a signed-out visitor
        return False
    return _expected(group, caller, silo, "")


def test_web_pages_every_role_every_silo(runtime: Runtime) -> None:
    world = World(runtime)
    _seed(world)
    app = create_app(runtime, close_on_shutdown=False)
    routes = _web_routes(app)
    missing = [r for r in routes if r not in WEB_RECIPES and r not in WEB_PUBLIC]
    assert missing == [], f"web routes without a recipe in this test: {missing}"
    attempts, wrongly_allowed, wrongly_denied = 0, [], []
    with serve(app) as url:
        callers = _web_callers(world, url)
        for (method, path), (caller, client, csrf), silo in itertools.product(
            [r for r in routes if r in WEB_RECIPES], callers, SILOS
        ):
            group, recipe = WEB_RECIPES[(method, path)]
            target, form = recipe(world, silo)
            if form is None:
                r = client.get(target)
            else:
                r = client.post(target, data={**form, "csrf": csrf}, headers={"HX-Request": "true"})
            attempts += 1
            label = f"{method} {target} as {caller.name} on {silo}: {r.status_code}"
            allowed = _web_expected(group, caller, silo)
            if allowed and r.status_code != 200:
                wrongly_denied.append(f"{label} {r.text[:200]}")
            if not allowed:
                signed_out = caller.role is None or caller.role in MACHINE_CALLERS
                expected = {303, 401} if signed_out else {403}
                object_id = target.rsplit("/", 2)[-2] if form else target.rsplit("/", 1)[-1]
                if r.status_code not in expected or (signed_out and object_id and object_id in r.text):
                    wrongly_allowed.append(f"{label} {r.text[:200]}")
            assert r.status_code < 500, label
        for _, client, _ in callers:
            client.close()
    print(f"web access matrix: {attempts} attempts, {len(wrongly_allowed)} wrongly allowed")
    assert attempts >= 400
    assert wrongly_allowed == []
    assert wrongly_denied == []
