"""Helpers for the web app's tests: a small simulated world served in-process, sign-in, CSRF secrets."""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import uvicorn

from gapwatch.api import Runtime, create_app
from gapwatch.auth.tokens import create_token
from gapwatch.domain.access import Role
from gapwatch.settings import Settings
from gapwatch.workspace import Workspace

# A small world (a few seconds to build): thin streams judged per event, incidents, survey answers.
CUSTOMERS, DAYS, SEED = 3000, 84, 7


def build_world(folder: Path) -> Path:
    from gapwatch.demo.run import run_demo

    run_demo(folder, CUSTOMERS, DAYS, SEED)
    add_insight(folder)
    return folder


def add_insight(folder: Path) -> None:
    """What the insight pages show: the simulated perception survey, the comments analysed, and a
    journey model trained on the survey answers (stored in the workspace, as ``--retrain`` does)."""
    import gapwatch

    with gapwatch.open(folder) as gw:
        gw.ingest_perceptions(folder / "sources" / "perceptions.csv")
        gw.analyse_text()
        gw.predict(retrain=True)


@dataclass
class Served:
    url: str
    runtime: Runtime
    tokens: dict[str, str] = field(default_factory=dict)

    def token(self, role: Role, silo: str | None = None, source: str | None = None) -> str:
        plain: str = self.runtime.write(lambda c: create_token(c, role, silo=silo, source=source)[0])
        return plain


@contextmanager
def serve_world(world: Path, copy_to: Path) -> Iterator[Served]:
    """Serve a copy of ``world`` (event-time clock) with the alerts its signals call for."""
    shutil.copytree(world, copy_to)
    ws = Workspace.open(copy_to)
    runtime = Runtime(Settings(clock="event", workspace=copy_to), ws.config, ws.store)
    app = create_app(runtime, close_on_shutdown=False)
    runtime.writer.call(runtime.alert)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    served = Served(f"http://127.0.0.1:{port}", runtime)
    try:
        yield served
    finally:
        server.should_exit = True
        thread.join(10)
        runtime.close()
        ws.close()


def signed_in(url: str, token: str) -> httpx.Client:
    """A client holding a session cookie (signed in through the form, as a browser does)."""
    client = httpx.Client(base_url=url, timeout=30)
    r = client.post("/login", data={"token": token, "next": "/"}, headers={"Origin": url})
    assert r.status_code == 303, r.text[:300]
    return client


CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(client: httpx.Client) -> str:
    """The session's CSRF secret, as the pages embed it in their forms."""
    found = CSRF.search(client.get("/customers").text)
    assert found, "no CSRF field on the page"
    return found.group(1)
