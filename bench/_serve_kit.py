"""Shared pieces of bench/serve.py and bench/overload.py: a pinned server, a lean loopback client.

Only 127.0.0.1 is ever addressed. The server is a real ``gapwatch serve`` subprocess on a
fresh workspace, started under ``taskset -c CORE``; the load generator pins itself to the
other core with ``os.sched_setaffinity``. Bodies are pre-encoded bytes, and requests go over
plain keep-alive HTTP/1.1 on asyncio streams, so the generator's own cost per request is a
few microseconds and latencies are the server's.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
IDLE_SECONDS = 3.0  # uvicorn closes a kept-alive connection idle for 5 s: reopen ours before that
SERVER_CORE, LOAD_CORE = 0, 1
MOMENTS = (  # (moment, metric, low, high, missed above) of the default template
    ("landing_page", "page_load_seconds", 0.4, 3.2),
    ("checkout", "page_load_seconds", 0.4, 2.7),
    ("delivery", "delivery_days", 1.0, 5.5),
    ("support_ticket", "first_response_hours", 0.5, 26.0),
    ("support_ticket", "csat", 2.0, 5.0),
    ("app_session", "latency_seconds", 0.2, 2.2),
    ("quote", "quote_turnaround_hours", 4.0, 52.0),
)
SEGMENTS = ("standard", "premium", "business")


@contextlib.contextmanager
def pinned(core: int) -> Iterator[bool]:
    """Run this process on ``core`` only, within the block (False when the machine has no such core)."""
    if core >= (os.cpu_count() or 1) or not hasattr(os, "sched_setaffinity"):
        yield False
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {core})
    try:
        yield True
    finally:
        os.sched_setaffinity(0, before)


# -- the server ---------------------------------------------------------------------------------------
@dataclass
class Server:
    """A ``gapwatch serve`` subprocess on a workspace of its own."""

    root: Path
    proc: subprocess.Popen[bytes]
    url: str
    token: str
    port: int
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def rss_mb(self) -> float | None:
        """The server's resident set now (VmRSS), in MB."""
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            return None
        return None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def make_workspace(parent: Path) -> Path:
    """A fresh workspace (``gapwatch init``) in ``parent``."""
    root = parent / "ws"
    subprocess.run([sys.executable, "-m", "gapwatch", "init", str(root)], check=True, capture_output=True)
    return root


def start_server(
    root: Path, *, core: int | None = SERVER_CORE, env: dict[str, str] | None = None, timeout: float = 60
) -> Server:
    """Start ``gapwatch serve`` on ``root`` (pinned to ``core``); wait for its lock and token."""
    lock = root / "gapwatch-serve.lock"
    lock.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "gapwatch", "serve", "--workspace", str(root), "--port", "0"]
    if core is not None and shutil.which("taskset") and core < (os.cpu_count() or 1):
        cmd = ["taskset", "-c", str(core), *cmd]
    log = root.parent / "server.log"
    with log.open("ab") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env={**os.environ, **(env or {})})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited ({proc.returncode}); see {log}")
        with contextlib.suppress(OSError, ValueError, KeyError):
            url = json.loads(lock.read_text())["url"]
            token = (root / ".gapwatch-local-token").read_text().strip()
            return Server(root, proc, url, token, int(url.rsplit(":", 1)[1]), log)
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"the server did not start in {timeout} s; see {log}")


class RssSampler:
    """Sample a process's VmRSS every ``every`` seconds in a thread; keeps the maximum."""

    def __init__(self, server: Server, every: float = 0.2) -> None:
        self.server = server
        self.every = every
        self.max_mb = 0.0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            rss = self.server.rss_mb()
            if rss is not None:
                self.max_mb = max(self.max_mb, rss)
                self.samples += 1
            self._stop.wait(self.every)


# -- events ---------------------------------------------------------------------------------------------
class Events:
    """Pre-rendered experience records; a batch is a few byte joins (ids are unique per prefix).

    A batch's events happen at one moment, ``at`` (default: now): live traffic is about the
    present, in streams whose history (:meth:`history`) gave them a baseline.
    """

    def __init__(self, prefix: str, seed: int = 7, variants: int = 4096) -> None:
        rng = random.Random(seed)
        self.prefix = prefix.encode()
        self.next_id = 0
        self._tails: list[bytes] = []
        for i in range(variants):
            moment, metric, low, high = MOMENTS[i % len(MOMENTS)]
            tail = {
                "customer_id": f"c{rng.randrange(50_000)}",
                "moment": moment,
                "metric": metric,
                "value": round(rng.uniform(low, high), 2),
                "segment": rng.choice(SEGMENTS),
                "attributes": {"channel": rng.choice(("web", "app", "phone"))},
            }
            self._tails.append(json.dumps(tail, separators=(",", ":"))[1:].encode())

    def batch(self, n: int, source: str = "bench", at: dt.datetime | None = None) -> tuple[bytes, list[str]]:
        """One ``POST /v1/events`` body of ``n`` new events, and their ids."""
        start = self.next_id
        self.next_id += n
        when = b'"occurred_at":"' + (at or dt.datetime.now(dt.UTC)).isoformat().encode() + b'",'
        ids = [f"{self.prefix.decode()}{i}" for i in range(start, start + n)]
        tails = self._tails
        parts = [
            b'{"event_id":"' + eid.encode() + b'",' + when + tails[(start + k) % len(tails)]
            for k, eid in enumerate(ids)
        ]
        body = b'{"source":"' + source.encode() + b'","events":[' + b",".join(parts) + b"]}"
        return body, ids

    def history(self, days: int, per_day: int, batch: int = 1000) -> Iterator[bytes]:
        """Bodies of ``per_day`` events on each of the ``days`` days before today (same mix)."""
        today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        for day in range(days, 0, -1):
            for start in range(0, per_day, batch):
                at = today - dt.timedelta(days=day) + dt.timedelta(hours=12, seconds=start)
                yield self.batch(min(batch, per_day - start), source="history", at=at)[0]


# -- a lean HTTP/1.1 client -----------------------------------------------------------------------------
@dataclass
class Answer:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


class Connection:
    """One keep-alive HTTP/1.1 connection to 127.0.0.1 (reconnects when the server closes it)."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.auth = f"Authorization: Bearer {token}\r\n".encode()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._used = 0.0

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is None or self._writer is None or self._writer.is_closing():
            self._reader, self._writer = await asyncio.open_connection(HOST, self.port)
        return self._reader, self._writer

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError, ConnectionError):
                await self._writer.wait_closed()
        self._reader = self._writer = None

    async def request(self, method: str, path: str, body: bytes = b"") -> Answer:
        """One request; a kept-alive connection the server closed meanwhile is reopened once."""
        reused = self._writer is not None and time.monotonic() - self._used < IDLE_SECONDS
        if not reused:
            await self.close()
        try:
            return await self._request(method, path, body)
        except (OSError, asyncio.IncompleteReadError):
            if not reused:
                raise
            return await self._request(method, path, body)  # posting is idempotent

    async def _request(self, method: str, path: str, body: bytes) -> Answer:
        started = time.perf_counter()
        reader, writer = await self._open()
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n"
        ).encode()
        writer.write(head + self.auth + b"\r\n" + body)
        try:
            await writer.drain()
            status_line = await reader.readuntil(b"\r\n")
            headers: dict[str, str] = {}
            while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
                name, _, value = line.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            payload = await reader.readexactly(int(headers.get("content-length", "0")))
        except (OSError, asyncio.IncompleteReadError):
            await self.close()
            raise
        self._used = time.monotonic()
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return Answer(int(status_line.split()[1]), payload, headers, time.perf_counter() - started)


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


@contextlib.contextmanager
def scratch() -> Iterator[Path]:
    """A temporary folder for workspaces, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="gapwatch-bench-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def ms(seconds: float | None) -> float | None:
    """Seconds as milliseconds, to 0.1 ms (None stays None)."""
    return None if seconds is None else round(seconds * 1000, 1)


async def closed_loop(
    server: Server, events: Events, seconds: float, connections: int, batch: int
) -> dict[str, Any]:
    """``connections`` clients posting batches of ``batch`` new events back to back for ``seconds``.

    Events/s acknowledged (200 answers only, each after its commit), latency p50/p99 of the
    200s, and the count of every status (a refusal is retried after its ``Retry-After``).
    """
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    acked = 0

    async def client() -> None:
        nonlocal acked
        conn = Connection(server.port, server.token)
        while time.monotonic() < end:
            body, _ = events.batch(batch)
            answer = await conn.request("POST", "/v1/events", body)
            statuses[answer.status] = statuses.get(answer.status, 0) + 1
            if answer.status == 200:
                acked += json.loads(answer.body)["accepted"]
                latencies.append(answer.seconds)
            else:
                await asyncio.sleep(float(answer.headers.get("retry-after", "1")))
        await conn.close()

    started = time.monotonic()
    end = started + seconds
    await asyncio.gather(*(client() for _ in range(connections)))
    elapsed = time.monotonic() - started
    return {
        "seconds": round(elapsed, 1),
        "events_per_second": round(acked / elapsed),
        "events": acked,
        "p50_ms": ms(percentile(latencies, 50)),
        "p99_ms": ms(percentile(latencies, 99)),
        "statuses": statuses,
    }
