"""Outbound HTTP: the one place gapwatch itself sends requests (webhook deliveries).

A receiver is whatever a silo member typed, so every attempt is bounded and checked
(docs/security.md, "Webhooks"):

* **Destination policy at connect time.** The host is resolved once per attempt, each
  address is checked against :class:`~gapwatch.domain.destinations.DestinationPolicy`, and
  the socket is connected to an address that passed — the same one, so a DNS answer that
  changes between a check and a connection (rebinding) cannot reach an internal address.
  TLS still verifies the certificate against the URL's host name.
* **One total deadline per attempt** (``timeout``): name resolution, connection, TLS
  handshake, sending and the answer's status line all share it; a receiver trickling one
  byte every few seconds is cut off at the deadline, not kept alive by each byte.
* **Bounded reads.** Only the status line and headers are read (at most
  ``max_head_bytes``); the body is never read, the connection is closed at once: a
  receiver offering gigabytes costs nothing.
* Redirects are not followed (a 3xx is the answer): a redirect could point anywhere.

Plain ``socket`` and ``ssl`` from the standard library: an HTTP client library's timeouts
are per read, and its connection pool resolves names on its own, after any check.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from gapwatch.domain.destinations import DestinationPolicy, IPAddress
from gapwatch.ports import BadResponse, DeliveryTimeout, DestinationNotAllowed, Unreachable

__all__ = ["HttpPost", "Resolver", "WebhookUrl", "parse_url"]

Resolver = Callable[[str, int], Sequence[IPAddress]]
"""Host name and port → its addresses (``socket.getaddrinfo`` in the service)."""
USER_AGENT = "gapwatch-webhook/1"


@dataclass(frozen=True, slots=True)
class WebhookUrl:
    scheme: str
    host: str  # lower case, IDNA-encoded, IPv6 without brackets
    port: int
    target: str  # path and query, as sent
    auth: str | None  # "user:password" from the URL, sent as Basic authorization

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def parse_url(url: str) -> WebhookUrl:
    """Split a webhook URL; ValueError when it is not an absolute http(s) URL with a host."""
    if any(c.isspace() or ord(c) < 0x21 or ord(c) > 0x7E for c in url):
        raise ValueError("a webhook URL is printable ASCII without spaces")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ValueError("a webhook URL starts with http:// or https://")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise ValueError("a webhook URL names a host")
    port = parts.port or (443 if parts.scheme == "https" else 80)  # ValueError on a bad port
    host = _legacy_ipv4(host) or host
    try:
        host = host.encode("idna").decode("ascii") if not _is_literal(host) else host
    except UnicodeError as exc:
        raise ValueError("the webhook URL's host is not a valid name") from exc
    auth = None
    if parts.username is not None:
        auth = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return WebhookUrl(parts.scheme, host.lower(), port, target, auth)


def _legacy_ipv4(host: str) -> str | None:
    """``2130706433``, ``0x7f.1``, ``127.1``: forms the system resolver reads as 127.0.0.1, dotted."""
    if not host or not all(c in "0123456789abcdefx." for c in host.lower()) or host.count(".") > 3:
        return None
    try:
        return socket.inet_ntoa(socket.inet_aton(host))
    except OSError:
        return None


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def system_resolver(host: str, port: int) -> list[IPAddress]:
    """The host's addresses, from the system resolver (IPv4 and IPv6, TCP)."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    out: list[IPAddress] = []
    for _family, _kind, _proto, _name, sockaddr in found:
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        if ip not in out:
            out.append(ip)
    return out


@dataclass
class HttpPost:
    """POST a JSON body within one deadline to an address the policy allows; returns the status.

    Parameters
    ----------
    policy
        Which destinations are allowed (checked on every resolved address).
    resolve
        Name resolution (the system resolver; a test may script DNS answers here).
    max_head_bytes
        The most of the answer that is read: status line and headers.
    """

    policy: DestinationPolicy = field(default_factory=DestinationPolicy)
    resolve: Resolver = system_resolver
    max_head_bytes: int = 16_384
    dns_threads: int = 128
    _dns_slots: threading.Semaphore = field(init=False, repr=False)
    _tls: ssl.SSLContext = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._dns_slots = threading.BoundedSemaphore(self.dns_threads)
        self._tls = ssl.create_default_context()

    def __call__(self, url: str, body: dict[str, Any], timeout: float) -> int:
        deadline = time.monotonic() + timeout
        target = parse_url(url)
        try:
            return self._post(target, json.dumps(body, separators=(",", ":")).encode("utf-8"), deadline)
        except TimeoutError as exc:
            raise DeliveryTimeout(f"{target.host}: no answer within {timeout:g} s") from exc

    def _post(self, target: WebhookUrl, payload: bytes, deadline: float) -> int:
        addresses = self._addresses(target, deadline)
        allowed = [ip for ip in addresses if self.policy.refusal(target.host, ip, target.port) is None]
        if not allowed:
            reasons = {self.policy.refusal(target.host, ip, target.port) for ip in addresses}
            raise DestinationNotAllowed(f"{target.host}: {', '.join(sorted(str(r) for r in reasons))}")
        sock = self._connect(target, allowed, deadline)
        try:
            sock.settimeout(_left(deadline))
            sock.sendall(_request(target, payload))
            return self._status(sock, deadline)
        except TimeoutError:
            raise
        except OSError as exc:
            raise Unreachable(f"{target.host}: {exc}") from exc
        finally:
            sock.close()  # the body is never read

    def _addresses(self, target: WebhookUrl, deadline: float) -> list[IPAddress]:
        if _is_literal(target.host):
            return [ipaddress.ip_address(target.host)]
        refusal = self.policy.refusal_of_host(target.host, target.port)
        if refusal is not None:
            raise DestinationNotAllowed(f"{target.host}: {refusal}")
        found = self._resolve_within(target, deadline)
        if isinstance(found, BaseException):
            raise Unreachable(f"{target.host}: {found}") from found
        return found

    def _resolve_within(self, target: WebhookUrl, deadline: float) -> list[IPAddress] | BaseException:
        """getaddrinfo cannot be interrupted: it runs on a daemon thread, awaited with the deadline.

        At most ``dns_threads`` run at once (a resolver that never answers holds one each until the
        system resolver gives up); the semaphore's wait counts against the deadline too.
        """
        if not self._dns_slots.acquire(timeout=_left(deadline)):
            raise TimeoutError("no resolver thread free")
        box: list[list[IPAddress] | BaseException] = []
        done = threading.Event()

        def run() -> None:
            try:
                box.append(list(self.resolve(target.host, target.port)))
            except Exception as exc:  # handed to the caller
                box.append(exc)
            finally:
                self._dns_slots.release()
                done.set()

        threading.Thread(target=run, name="gapwatch-dns", daemon=True).start()
        if not done.wait(_left(deadline)):
            raise TimeoutError("name resolution outlasted the deadline")
        return box[0]

    def _connect(self, target: WebhookUrl, allowed: list[IPAddress], deadline: float) -> socket.socket:
        last: Exception | None = None
        for ip in allowed:
            family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                sock.settimeout(_left(deadline))
                sock.connect((str(ip), target.port))
                if target.scheme == "https":
                    sock.settimeout(_left(deadline))
                    return self._tls.wrap_socket(sock, server_hostname=target.host)
                return sock
            except TimeoutError as exc:
                sock.close()
                raise DeliveryTimeout(f"{target.host}: connecting outlasted the deadline") from exc
            except (OSError, ssl.SSLError) as exc:
                sock.close()
                last = exc
        raise Unreachable(f"{target.host}: {last}")

    def _status(self, sock: socket.socket, deadline: float) -> int:
        """Read answers' heads until a final status (1xx are skipped); never more than ``max_head_bytes``."""
        buf = b""
        while True:
            end = buf.find(b"\r\n\r\n")
            if end >= 0:
                status = _status_code(buf[: buf.find(b"\r\n")])
                if status >= 200:
                    return status
                buf = buf[end + 4 :]  # an interim answer (100 Continue, 103 Early Hints)
                continue
            if len(buf) >= self.max_head_bytes:
                raise BadResponse(f"no end of headers in {self.max_head_bytes} bytes")
            sock.settimeout(_left(deadline))  # the rest of the deadline, not a fresh timeout per read
            chunk = sock.recv(min(4096, self.max_head_bytes - len(buf)))
            if not chunk:
                if buf.startswith(b"HTTP/") and b"\r\n" in buf:  # closed right after the status line
                    return _status_code(buf[: buf.find(b"\r\n")])
                raise BadResponse("connection closed before a status line")
            buf += chunk


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("deadline passed")
    return left


def _request(target: WebhookUrl, payload: bytes) -> bytes:
    lines = [
        f"POST {target.target} HTTP/1.1",
        f"Host: {target.host_header}",
        f"User-Agent: {USER_AGENT}",
        "Content-Type: application/json",
        f"Content-Length: {len(payload)}",
        "Connection: close",
    ]
    if target.auth is not None:
        lines.append("Authorization: Basic " + base64.b64encode(target.auth.encode("utf-8")).decode("ascii"))
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + payload


def _status_code(line: bytes) -> int:
    parts = line.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit() or len(parts[1]) != 3:
        raise BadResponse(f"not an HTTP status line: {line[:60]!r}")
    return int(parts[1])


def http_post(url: str, body: dict[str, Any], timeout: float) -> int:
    """One delivery with the default policy (public addresses only)."""
    return _DEFAULT(url, body, timeout)


_DEFAULT = HttpPost()
