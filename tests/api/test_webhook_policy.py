"""Webhooks cannot reach inside the network (issue 9, item 9: SSRF).

Registration refuses loopback, link-local, private, shared, metadata and wrapped addresses
(400); a name that resolves to such an address is refused on every delivery, checked on the
address actually connected to — a real receiver listening on loopback must never see a
request unless the admin's ``webhook_allow_hosts`` names it. What members read about a
failed delivery carries no network detail.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator

import pytest
from apihelpers import bearer, make_runtime, seed_alert, serve
from httpx import Client
from receivers import receivers

from gapwatch.adapters.http import HttpPost
from gapwatch.api import create_app
from gapwatch.auth.tokens import create_token
from gapwatch.domain.access import Role
from gapwatch.domain.alerts import Severity
from gapwatch.domain.destinations import DestinationPolicy, IPAddress
from gapwatch.ports import DeliveryTimeout, DestinationNotAllowed, Unreachable
from gapwatch.quality.alerts import get_alert
from gapwatch.quality.webhooks import WebhookKind, create_webhook, list_deliveries
from gapwatch.serve.runtime import Runtime

REFUSED_AT_REGISTRATION = [
    "http://127.0.0.1/hook",
    "http://127.0.0.53:8080/",
    "http://[::1]:8765/v1/events",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fd00:ec2::254]/",
    "http://100.100.100.200/",
    "http://[fe80::1]/",
    "http://169.254.10.1/",
    "http://10.0.0.1/",
    "http://172.16.5.4:9200/",
    "http://192.168.1.1/admin",
    "http://100.64.0.1/",  # carrier-grade NAT
    "http://0.0.0.0:8765/",
    "http://[::ffff:127.0.0.1]/",  # IPv4-mapped
    "http://[2002:7f00:1::1]/",  # 6to4 around 127.0.0.1
    "http://[64:ff9b::a00:1]/",  # NAT64 around 10.0.0.1
    "http://2130706433/",  # 127.0.0.1 as one number
    "http://0x7f.1/",
    "http://127.1:8765/",
    "http://224.0.0.1/",
    "http://localhost:8765/",
    "http://api.localhost/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "ftp://hooks.example.com/",
    "http://user@/x",
]


@pytest.fixture
def member() -> Iterator[tuple[Runtime, Client, dict[str, str]]]:
    runtime = make_runtime()
    try:
        token = runtime.write(lambda c: create_token(c, Role.MEMBER, silo="delivery"))[0]
        with serve(create_app(runtime, close_on_shutdown=False)) as url, Client(base_url=url) as client:
            yield runtime, client, bearer(token)
    finally:
        runtime.close()


@pytest.mark.parametrize("url", REFUSED_AT_REGISTRATION)
def test_registration_refuses_internal_destinations(
    member: tuple[Runtime, Client, dict[str, str]], url: str
) -> None:
    _, client, h = member
    r = client.post("/v1/webhooks", json={"silo": "delivery", "url": url}, headers=h)
    assert r.status_code in (400, 422), (url, r.status_code, r.text)


def test_registration_accepts_public_names_and_addresses(
    member: tuple[Runtime, Client, dict[str, str]],
) -> None:
    _, client, h = member
    for url in (
        "https://hooks.slack.com/services/T0/B0/x",
        "https://93.184.215.14/hook",
        "http://[2606:4700::1111]/",
    ):
        r = client.post("/v1/webhooks", json={"silo": "delivery", "url": url}, headers=h)
        assert r.status_code == 201, (url, r.text)


def _hook(runtime: Runtime, url: str) -> str:
    return runtime.write(
        lambda c: create_webhook(
            c, silo="delivery", url=url, kind=WebhookKind.JSON, min_severity=Severity.MINOR, actor="test"
        )
    ).id


def _deliver(runtime: Runtime) -> None:
    alert_id = seed_alert(runtime)
    with runtime.reader() as con:
        runtime.notifier.notify([get_alert(con, alert_id)])
    runtime.notifier.drain(timeout=30)


def test_names_resolving_to_internal_addresses_are_refused_at_each_delivery() -> None:
    """Real names: ``localhost`` and this machine's own name resolve to loopback here (/etc/hosts)."""
    names = ["localhost", socket.gethostname(), "2130706433"]
    with receivers() as rx:
        runtime = make_runtime(
            webhook_timeout_seconds=2.0, webhook_max_attempts=3, webhook_backoff_seconds=0.01
        )
        try:
            hooks = {
                name: _hook(runtime, rx.url("/ok", host=name)) for name in names
            }  # stored around the API
            _deliver(runtime)
            with runtime.reader() as con:
                outcome = {name: list_deliveries(con, h)[0] for name, h in hooks.items()}
        finally:
            runtime.close()
    assert rx.connections == 0  # nothing ever connected to the loopback receiver
    for name, delivery in outcome.items():
        assert delivery.status == "failed", name
        assert delivery.error == "destination not allowed by the service's webhook policy", name
        assert delivery.attempts == 1  # a refusal is not retried


def test_the_admin_setting_allows_a_named_on_premise_receiver_and_only_it() -> None:
    with receivers() as rx:
        runtime = make_runtime(webhook_allow_hosts=(f"localhost:{rx.port}",), webhook_timeout_seconds=2.0)
        try:
            allowed = _hook(runtime, rx.url("/ok", host="localhost"))
            by_address = _hook(runtime, rx.url("/ok-by-address"))  # 127.0.0.1 itself is not on the list
            other_port = _hook(runtime, f"http://localhost:{rx.port + 1 if rx.port < 65535 else 1}/")
            _deliver(runtime)
            with runtime.reader() as con:
                outcome = {h: list_deliveries(con, h)[0] for h in (allowed, by_address, other_port)}
        finally:
            runtime.close()
    assert outcome[allowed].status == "delivered" and len(rx.arrivals("/ok")) == 1
    assert (
        outcome[by_address].error
        == outcome[other_port].error
        == ("destination not allowed by the service's webhook policy")
    )
    assert rx.arrivals("/ok-by-address") == []


def test_metadata_and_the_service_itself_stay_refused_whatever_is_allowed() -> None:
    policy = DestinationPolicy.of(["169.254.0.0/16", "127.0.0.1", "localhost"], own_ports=[8765])
    assert policy.refusal("x", ipaddress.ip_address("169.254.169.254"), 80) == "cloud metadata address"
    assert policy.refusal("localhost", ipaddress.ip_address("127.0.0.1"), 8765) == "the service itself"
    assert policy.refusal("localhost", ipaddress.ip_address("127.0.0.1"), 9000) is None
    assert policy.refusal("x", ipaddress.ip_address("169.254.1.1"), 80) is None  # the admin's network


class ScriptedDns:
    """DNS answers that change between lookups (what a rebinding attacker's name server does)."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.calls = 0

    def __call__(self, host: str, port: int) -> list[IPAddress]:
        self.calls += 1
        return [ipaddress.ip_address(a) for a in self.answers[min(self.calls, len(self.answers)) - 1]]


def test_dns_rebinding_never_reaches_an_internal_address() -> None:
    """The addresses checked are the addresses connected to: a public answer then a loopback one,
    or both kinds at once, never lead to the loopback receiver."""
    with receivers() as rx:
        url = f"http://rebind.example:{rx.port}/ok"
        rebinding = HttpPost(DestinationPolicy(), resolve=ScriptedDns(["93.184.215.14"], ["127.0.0.1"]))
        with pytest.raises((Unreachable, DeliveryTimeout)):  # the public answer: tried, nothing answers here
            rebinding(url, {"x": 1}, 1.0)
        with pytest.raises(DestinationNotAllowed):  # the second answer: refused before any connection
            rebinding(url, {"x": 1}, 1.0)
        for answer in (["127.0.0.1", "10.9.9.9"], ["::1", "192.0.2.1"], ["::ffff:127.0.0.1"]):
            with pytest.raises(DestinationNotAllowed):
                HttpPost(DestinationPolicy(), resolve=ScriptedDns(answer))(url, {"x": 1}, 1.0)
    assert rx.connections == 0


def test_members_read_no_network_detail_in_delivery_errors() -> None:
    with socket.socket() as closed:  # a port with nothing listening: "connection refused"
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    allowed = make_runtime(
        webhook_allow_hosts=("127.0.0.1",), webhook_timeout_seconds=1.0, webhook_max_attempts=1
    )
    try:
        hook = _hook(allowed, f"http://127.0.0.1:{port}/")
        _deliver(allowed)
        with allowed.reader() as con:
            [delivery] = list_deliveries(con, hook)
    finally:
        allowed.close()
    assert delivery.error == "receiver unreachable"
    assert delivery.http_status is None
    for word in ("refused", "Errno", "127.0.0.1", str(port)):
        assert word not in (delivery.error or "")


def test_a_silo_has_at_most_the_configured_number_of_webhooks() -> None:
    runtime = make_runtime(webhook_max_per_silo=2)
    try:
        token = runtime.write(lambda c: create_token(c, Role.MEMBER, silo="sales"))[0]
        with serve(create_app(runtime, close_on_shutdown=False)) as url, Client(base_url=url) as client:
            codes = [
                client.post(
                    "/v1/webhooks",
                    json={"silo": "sales", "url": f"https://hooks.example.com/{i}"},
                    headers=bearer(token),
                ).status_code
                for i in range(3)
            ]
    finally:
        runtime.close()
    assert codes == [201, 201, 409]
