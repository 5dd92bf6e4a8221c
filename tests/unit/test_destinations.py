"""The webhook destination policy (domain/destinations.py): what counts as public, what an admin may allow."""

from __future__ import annotations

import ipaddress

import pytest

from gapwatch.domain.destinations import DestinationPolicy, unwrap

DEFAULT = DestinationPolicy()


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.255.0.9",
        "::1",
        "0.0.0.0",
        "::",
        "10.1.2.3",
        "172.31.0.1",
        "192.168.0.1",
        "169.254.0.5",
        "fe80::1",
        "fc00::1",
        "fd12:3456::1",
        "100.64.1.1",
        "192.0.2.1",
        "198.18.0.1",
        "224.0.0.251",
        "ff02::1",
        "255.255.255.255",
        "240.0.0.1",
        "::ffff:10.0.0.1",
        "2002:a00:1::1",
        "64:ff9b::c0a8:101",
        "2001:db8::1",
    ],
)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert DEFAULT.refusal("h", ipaddress.ip_address(address), 443) is not None


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert DEFAULT.refusal("h", ipaddress.ip_address(address), 443) is None


def test_wrapped_ipv4_is_unwrapped() -> None:
    v4 = ipaddress.ip_address("127.0.0.1")
    for wrapped in ("::ffff:127.0.0.1", "2002:7f00:1::", "64:ff9b::7f00:1"):
        assert unwrap(ipaddress.ip_address(wrapped)) == v4


def test_allow_entries_name_port_address_and_network() -> None:
    policy = DestinationPolicy.of(
        ["Hooks.Corp:8443", "jira.corp", "10.20.0.0/16", "[fd00::5]:9000", "192.168.1.7"]
    )
    ip = ipaddress.ip_address
    assert policy.refusal("hooks.corp", ip("10.0.0.9"), 8443) is None
    assert policy.refusal("hooks.corp", ip("10.0.0.9"), 443) == "non-public address"  # only that port
    assert policy.refusal("jira.corp.", ip("10.0.0.9"), 1234) is None  # any port, trailing dot
    assert policy.refusal("x", ip("10.20.3.4"), 80) is None
    assert policy.refusal("x", ip("10.21.3.4"), 80) == "non-public address"
    assert policy.refusal("x", ip("fd00::5"), 9000) is None and policy.refusal("x", ip("fd00::5"), 9001)
    assert policy.refusal("x", ip("192.168.1.7"), 1) is None
    assert policy.refusal("x", ip("169.254.169.254"), 80) == "cloud metadata address"


def test_local_names_are_refused_from_the_url_alone() -> None:
    for host in ("localhost", "LOCALHOST.", "api.localhost", "printer.local", "metadata.google.internal"):
        assert DEFAULT.refusal_of_host(host, 80) == "non-public address", host
    assert DEFAULT.refusal_of_host("hooks.example.com", 443) is None
    assert DestinationPolicy.of(["localhost"]).refusal_of_host("localhost", 80) is None
