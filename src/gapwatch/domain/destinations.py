"""Where the service may send a webhook: the destination policy (issue 9; docs/security.md).

A webhook URL is chosen by a silo member, and the service sends requests to it from inside
the company's network: without a policy, a member could make the server call its own API,
a database's admin port or the cloud's metadata service (server-side request forgery). The
rule, checked on the address actually connected to (so a DNS answer that changes between a
check and the connection cannot slip through):

* public addresses only — never loopback, link-local, private (RFC 1918, unique local),
  shared (carrier-grade NAT), unspecified, multicast, reserved or documentation ranges,
  including IPv4 addresses wrapped in IPv6 (mapped, 6to4, NAT64);
* never a cloud metadata address (169.254.169.254 and its kin), whatever else is allowed;
* never the service itself (its own port on this machine);
* an admin may allow named hosts for on-premise receivers (``webhook_allow_hosts``): a host
  name (exact, any port), ``name:port``, an address, or a network in CIDR form. Such a host
  may then resolve to non-public addresses.

Examples
--------
>>> import ipaddress
>>> policy = DestinationPolicy()
>>> policy.refusal("hooks.example.com", ipaddress.ip_address("10.1.2.3"), 443)
'non-public address'
>>> on_premise = DestinationPolicy(allow=("hooks.corp:8443",))
>>> on_premise.refusal("hooks.corp", ipaddress.ip_address("10.1.2.3"), 8443) is None
True
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["METADATA", "DestinationPolicy", "IPAddress", "unwrap"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean, …
        "169.254.170.2",  # AWS ECS task metadata
        "fd00:ec2::254",  # AWS over IPv6
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_LOCAL_NAMES = ("localhost", ".localhost", ".local", ".internal", ".home.arpa")


def unwrap(ip: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, NAT64), else ``ip`` itself."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None:
            return ip.sixtofour
        if ip in _NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def _public(ip: IPAddress) -> bool:
    ip = unwrap(ip)
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


@dataclass(frozen=True)
class DestinationPolicy:
    """Which (host, address, port) a webhook may be sent to.

    Parameters
    ----------
    allow
        The admin's list (``webhook_allow_hosts``): ``name``, ``name:port``, an address
        (``10.0.0.5``, ``[fd00::5]:8443``) or a network (``10.20.0.0/16``).
    own_ports
        The service's own listening ports: this machine on them is never a destination.
    own_addresses
        Addresses of this machine besides loopback (the interface the service listens on).
    """

    allow: tuple[str, ...] = ()
    own_ports: frozenset[int] = frozenset()
    own_addresses: frozenset[IPAddress] = frozenset()
    _names: dict[str, frozenset[int] | None] = field(init=False, repr=False, compare=False)
    _nets: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, int | None]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        names: dict[str, set[int] | None] = {}
        nets: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, int | None]] = []
        for entry in self.allow:
            host, port = _split(entry.strip().lower())
            try:
                nets.append((ipaddress.ip_network(host, strict=False), port))
                continue
            except ValueError:
                pass
            known = names.setdefault(host.rstrip("."), set())
            if port is None or known is None:
                names[host.rstrip(".")] = None  # any port
            else:
                known.add(port)
        object.__setattr__(
            self, "_names", {k: (None if v is None else frozenset(v)) for k, v in names.items()}
        )
        object.__setattr__(self, "_nets", nets)

    def refusal(self, host: str, ip: IPAddress, port: int) -> str | None:
        """Why (``host``, ``ip``, ``port``) is refused, or None when it is allowed."""
        inner = unwrap(ip)
        if ip in METADATA or inner in METADATA:
            return "cloud metadata address"
        if port in self.own_ports and (
            inner.is_loopback
            or inner.is_unspecified
            or ip in self.own_addresses
            or inner in self.own_addresses
        ):
            return "the service itself"
        if _public(ip) or self._allowed(host, ip, port):
            return None
        return "non-public address"

    def refusal_of_host(self, host: str, port: int) -> str | None:
        """What the URL alone tells: an address literal is checked; a local-only name is refused."""
        literal = host.strip("[]")
        try:
            return self.refusal(host, ipaddress.ip_address(literal), port)
        except ValueError:
            pass
        name = host.lower().rstrip(".")
        if self._name_allowed(name, port):
            return None
        if name == "localhost" or name.endswith(_LOCAL_NAMES):
            return "non-public address"
        return None  # a name: checked on its resolved addresses at each connection

    def _allowed(self, host: str, ip: IPAddress, port: int) -> bool:
        if self._name_allowed(host.lower().rstrip("."), port):
            return True
        return any((ip in net or unwrap(ip) in net) and p in (None, port) for net, p in self._nets)

    def _name_allowed(self, name: str, port: int) -> bool:
        if name not in self._names:
            return False
        ports = self._names[name]
        return ports is None or port in ports

    @classmethod
    def of(
        cls, allow: Iterable[str], own_ports: Iterable[int] = (), own_addresses: Iterable[str] = ()
    ) -> DestinationPolicy:
        """A policy from settings (``own_addresses`` as strings; unparsable ones are skipped)."""
        addresses: set[IPAddress] = set()
        for a in own_addresses:
            try:
                addresses.add(ipaddress.ip_address(a))
            except ValueError:
                continue
        return cls(tuple(allow), frozenset(p for p in own_ports if p), frozenset(addresses))


def _split(entry: str) -> tuple[str, int | None]:
    """``name:port`` / ``[v6]:port`` / ``1.2.3.4:port`` / ``net/len`` → (host, port or None)."""
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    if entry.count(":") == 1:
        host, _, port = entry.partition(":")
        if port.isdigit():
            return host, int(port)
    return entry, None
