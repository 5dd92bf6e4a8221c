"""Erased means no byte left (issue 9, item 4): one test per ingest path, against a real server.

For each path (``POST /v1/events``, ``POST /v1/files`` through ``gapwatch ingest``, ``gapwatch
ingest`` without a server, ``gapwatch replay``) a customer's data goes in with her e-mail in
the id, the free text, the attributes and the event ids, plus a rejected row of hers. A
positive control first finds every needle in the workspace's files (so the search can see
them), then she is erased through the API, her data is sent again through the same path
with the id padded, tabbed and differently cased (every event suppressed), the server is
stopped, and no file under the workspace holds a byte of any needle, in any case
(``grep -a -r -i``).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from durahelpers import GAPWATCH, ServerProcess, cli, free_port

from gapwatch.workspace import init_workspace

pytestmark = pytest.mark.slow  # a real server, started and stopped

EMAIL = "alice.liddell@example.com"
NEEDLES = (EMAIL, "alice-order-77", "looking-glass-7f3a", "wonderland-topic-91")
VARIANTS = (f"  {EMAIL}  ", f"{EMAIL}\t", EMAIL.upper(), "\u00a0Alice.Liddell@Example.COM")
TICKETS = "ticket_id,requester,opened,plan,first_reply_hours,satisfaction,comment,channel,topic"


def found(root: Path) -> dict[str, list[str]]:
    """Which needles each file under ``root`` holds, case-insensitively (``grep -a -r -i``)."""
    hits: dict[str, list[str]] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes().lower()
        there = [n for n in NEEDLES if n.encode() in data]
        if there:
            hits[str(path.relative_to(root))] = there
    return hits


def _ticket_rows(requester: str, tag: str) -> list[str]:
    return [
        f"alice-order-77{tag},{requester},2026-03-02T10:00:00Z,Standard,30,2,looking-glass-7f3a,email,"
        "wonderland-topic-91",
        f"alice-order-78{tag},{requester},2026-03-03T10:00:00Z,Standard,not-a-number,,looking-glass-7f3a,"
        "email,wonderland-topic-91",  # rejected: its raw row holds her data too
        f"other-{tag},C-9,2026-03-03T11:00:00Z,Standard,3,5,fine,web,billing",
    ]


def _tickets(folder: Path, *requesters: str, tag: str = "") -> Path:
    """A tickets export with her rows under each spelling of her id (and one other customer's row)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tickets.csv"
    rows = [
        r
        for i, who in enumerate(requesters)
        for r in _ticket_rows(_csv(who), f"{tag}-{i}" if i or tag else "")
    ]
    path.write_text("\n".join([TICKETS, *rows]) + "\n", encoding="utf-8")
    return path


def _csv(cell: str) -> str:
    return '"' + cell.replace('"', '""') + '"'


def _events(requester: str, tag: str = "") -> list[dict[str, Any]]:
    base = {
        "customer_id": requester,
        "occurred_at": "2026-03-02T10:00:00Z",
        "moment": "support_ticket",
        "metric": "first_response_hours",
        "segment": "standard",
        "text": "looking-glass-7f3a",
        "attributes": {"email": EMAIL, "topic": "wonderland-topic-91"},
    }
    return [
        {**base, "event_id": f"alice-order-77{tag}", "value": 30},
        {**base, "event_id": f"alice-order-78{tag}", "value": "not-a-number"},  # rejected
        {
            **base,
            "event_id": f"other-{tag}",
            "customer_id": "C-9",
            "text": "fine",
            "attributes": None,
            "value": 3,
        },
    ]


class Bench:
    """A workspace, its server and an admin token."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.root = init_workspace(tmp / "ws")
        self.token = str(cli("token", "create", "--workspace", str(self.root), "--role", "admin")["token"])
        self.server = ServerProcess(self.root, free_port(), tmp / "server.log")

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(base_url=self.server.url, timeout=120) as c:
            return c.request(method, path, headers=headers, **kw)

    def post(self, events: list[dict[str, Any]]) -> dict[str, Any]:
        r = self.request("POST", "/v1/events", json={"source": "tickets", "events": events})
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    def ingest(self, path: Path) -> dict[str, Any]:
        return cli("ingest", str(path), "--source", "tickets", "--workspace", str(self.root))

    def replay(self, folder: Path) -> dict[str, Any]:
        done = subprocess.run(
            [*GAPWATCH, "replay", str(folder), "--url", self.server.url, "--token", self.token, "--json"],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        out: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
        return out

    def erase(self) -> dict[str, Any]:
        r = self.request("DELETE", f"/v1/customers/{EMAIL.upper()}")
        assert r.status_code == 200, r.text
        out: dict[str, Any] = r.json()
        return out


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[Bench]:
    b = Bench(tmp_path)
    yield b
    b.server.stop()


def _control(bench: Bench) -> None:
    """Every needle is findable before the erasure (so the search below can see them)."""
    bench.server.stop()
    holds = {n for needles in found(bench.root).values() for n in needles}
    assert holds == set(NEEDLES), found(bench.root)


def _no_trace(bench: Bench) -> None:
    bench.server.stop()
    assert found(bench.root) == {}


def _erased(bench: Bench) -> None:
    bench.server.start()
    done = bench.erase()
    assert done["identities"] == 1 and done["compacted"] is True
    assert bench.request("GET", f"/v1/customers/{EMAIL}").status_code == 404


def test_events_path(bench: Bench) -> None:
    bench.server.start()
    first = bench.post(_events(f" {EMAIL}\t"))
    assert (first["accepted"], first["rejected"]) == (2, 1)
    _control(bench)
    _erased(bench)
    for i, variant in enumerate(VARIANTS):
        again = bench.post(_events(variant, f"-{i}")[:2])
        assert [x["reason_code"] for x in again["results"]] == ["erased_customer"] * 2, (variant, again)
    _no_trace(bench)


def test_files_path_through_the_server(bench: Bench) -> None:
    bench.server.start()
    first = bench.ingest(_tickets(bench.tmp / "in", EMAIL))
    assert first["rejected"] == 1 and first["accepted"] == 4  # two experiences per ticket row
    _control(bench)
    _erased(bench)
    again = bench.ingest(_tickets(bench.tmp / "again", *VARIANTS, tag="again"))
    assert again["reasons"].get("erased_customer") == 3 * len(VARIANTS), again  # 2 + 1 experiences of hers
    _no_trace(bench)


def test_cli_path_without_a_server(bench: Bench) -> None:
    first = bench.ingest(_tickets(bench.tmp / "in", EMAIL.upper()))
    assert first["rejected"] == 1
    bench.server.start()
    _control(bench)
    _erased(bench)
    bench.server.stop()
    again = bench.ingest(_tickets(bench.tmp / "again", *VARIANTS, tag="again"))
    assert again["reasons"].get("erased_customer") == 3 * len(VARIANTS), again
    _no_trace(bench)


def test_replay_path(bench: Bench) -> None:
    bench.server.start()
    world = bench.tmp / "world"
    _tickets(world, EMAIL)
    first = bench.replay(world)
    assert first["accepted"] >= 2
    bench.post(_events(EMAIL, "-posted"))  # a rejected event of hers (the replay sends only valid ones)
    _control(bench)
    _erased(bench)
    again = bench.replay(_tickets(bench.tmp / "again", *VARIANTS, tag="again").parent)
    # Her valid rows (two experiences each) are suppressed; only the other customer's are new.
    assert (again["rejected"], again["accepted"]) == (2 * len(VARIANTS), 2 * len(VARIANTS)), again
    _no_trace(bench)
