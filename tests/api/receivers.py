"""Webhook receivers for tests: a real TCP server on 127.0.0.1 (threads), one behaviour per path.

* ``/ok…``     reads the request and answers 204 at once;
* ``/slow``    answers one byte every ``trickle`` seconds (a status line that never ends in time);
* ``/huge``    answers 200 with a 4 GiB body and keeps writing until the client hangs up;
* ``/headers`` sends header lines without end;
* ``/redirect`` answers 302 to ``Location: http://169.254.169.254/``.

Every request is recorded (path, arrival time on ``time.monotonic()``, JSON body).
"""

from __future__ import annotations

import contextlib
import json
import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Seen:
    path: str
    at: float
    body: dict[str, Any]


@dataclass
class Receivers:
    port: int = 0
    trickle: float = 2.0
    seen: list[Seen] = field(default_factory=list)
    huge_bytes_sent: int = 0
    connections: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def arrivals(self, prefix: str) -> list[Seen]:
        with self.lock:
            return [s for s in self.seen if s.path.startswith(prefix)]


def _read_request(conn: socket.socket) -> tuple[str, bytes]:
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = conn.recv(65536)
        if not chunk:
            return "", b""
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return lines[0].split(" ")[1], body


def _handler(state: Receivers) -> type[socketserver.BaseRequestHandler]:
    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            conn: socket.socket = self.request
            with state.lock:
                state.connections += 1
            path, body = _read_request(conn)
            if not path:
                return
            with state.lock:
                state.seen.append(Seen(path, time.monotonic(), json.loads(body or b"{}")))
            with contextlib.suppress(OSError):
                self._answer(conn, path)

        def _answer(self, conn: socket.socket, path: str) -> None:
            if path.startswith("/ok"):
                conn.sendall(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
            elif path.startswith("/slow"):
                for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n":
                    conn.sendall(bytes([byte]))
                    time.sleep(state.trickle)
            elif path.startswith("/huge"):
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 4294967296\r\n\r\n"
                )
                block = b"\0" * (1 << 20)
                while state.huge_bytes_sent < 4 << 30:
                    conn.sendall(block)
                    with state.lock:
                        state.huge_bytes_sent += len(block)
            elif path.startswith("/headers"):
                conn.sendall(b"HTTP/1.1 200 OK\r\n")
                while True:
                    conn.sendall(b"X-Padding: " + b"a" * 1000 + b"\r\n")
            elif path.startswith("/redirect"):
                conn.sendall(
                    b"HTTP/1.1 302 Found\r\nLocation: http://169.254.169.254/\r\nContent-Length: 0\r\n\r\n"
                )
            else:
                conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")

    return Handler


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@contextlib.contextmanager
def receivers(trickle: float = 2.0, host: str = "127.0.0.1") -> Iterator[Receivers]:
    """Receivers on a free port of ``host`` for the duration of the block."""
    state = Receivers(trickle=trickle)
    server = _Server((host, 0), _handler(state))
    state.port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def rss_bytes() -> int:
    """This process's resident memory (Linux /proc)."""
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


class RssPeak:
    """Samples this process's RSS every 10 ms in a thread; ``peak`` is the largest seen."""

    def __init__(self) -> None:
        self.start = rss_bytes()
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, rss_bytes())

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak - self.start
