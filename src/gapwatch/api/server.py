"""Run the service over a workspace it owns (DESIGN.md, "One process owns a workspace").

While ``gapwatch serve`` runs, it holds the workspace's DuckDB file, and writes two files
next to it: ``gapwatch-serve.lock`` (its URL and process id) and ``.gapwatch-local-token``
(an admin token for this machine's CLI, mode 0600). CLI commands that find a live lock
go through the server's API with that token instead of opening the file. Both files are
removed, and the local token revoked, when the server stops.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path

import uvicorn

from gapwatch.api.app import create_app
from gapwatch.auth.tokens import create_token, revoke_token
from gapwatch.domain.access import Role
from gapwatch.lockfile import CREDENTIALS_FILE, LOCK_FILE, read_lock, write_private
from gapwatch.serve.runtime import Runtime
from gapwatch.settings import Settings
from gapwatch.workspace import Workspace, WorkspaceBusy


def _stop(signum: int, frame: object) -> None:
    raise SystemExit(0)


def serve(root: Path, settings: Settings, on_ready: Callable[[Runtime, str], None] | None = None) -> None:
    """Own ``root`` and serve the API until interrupted (blocking).

    ``on_ready(runtime, url)`` runs once the service is up, before requests are taken
    (``gapwatch demo --serve`` prints its sign-in link there).
    """
    lock = read_lock(root)
    if lock is not None:
        raise WorkspaceBusy(f"{root} is already served at {lock.url} (pid {lock.pid})")
    sock = socket.socket(socket.AF_INET6 if ":" in settings.host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((settings.host, settings.port))
    sock.listen(2048)
    host, port = sock.getsockname()[:2]
    url = f"http://{host if ':' not in host else f'[{host}]'}:{port}"
    print(f"serving {root} at {url} (Ctrl-C stops)", file=sys.stderr, flush=True)
    workspace = Workspace.open(root)
    runtime = Runtime(settings, workspace.config, workspace.store)
    plain, record = runtime.write(lambda con: create_token(con, Role.ADMIN, label="local CLI"))
    write_private(root / CREDENTIALS_FILE, plain + "\n")
    started = dt.datetime.now(dt.UTC).isoformat()
    write_private(root / LOCK_FILE, json.dumps({"url": url, "pid": os.getpid(), "started_at": started}))
    # uvicorn re-raises SIGTERM once it has shut down; by default that would end the process before
    # the clean-up below (lock, local token). A SIGTERM is a normal stop: leave through the finally.
    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        app = create_app(runtime, close_on_shutdown=False)
        if on_ready is not None:
            on_ready(runtime, url)
        config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=10)
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        signal.signal(signal.SIGTERM, previous)
        (root / LOCK_FILE).unlink(missing_ok=True)
        (root / CREDENTIALS_FILE).unlink(missing_ok=True)
        runtime.write(lambda con: revoke_token(con, record.id))
        runtime.close()
        workspace.close()
