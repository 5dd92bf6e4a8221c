"""Run the service over a workspace it owns (DESIGN.md, "One process owns a workspace").

While ``gapwatch serve`` runs, it holds the workspace's DuckDB file, and writes two files
next to it: ``gapwatch-serve.lock`` (its URL and process id) and ``.gapwatch-local-token``
(an admin token for this machine's CLI, mode 0600). CLI commands that find a live lock
go through the server's API with that token instead of opening the file.

Start, in this order: the configuration and the store are opened (a broken ``gapwatch.yaml``
or a store held elsewhere fails here, in one line, before anything claims to be serving);
local CLI tokens a killed server left active are revoked and its leftover uploads removed;
then the token, the "serving" line and the lock file. SIGTERM and SIGINT are a normal stop
(systemd, Docker and Kubernetes send SIGTERM): no new connections, requests in flight get
``shutdown_grace_seconds``, the lock file and the credential go, the local token is revoked,
the writer drains its queue, the store is checkpointed and closed; the exit status is 0.
A second SIGINT stops waiting for requests in flight.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

import uvicorn

from gapwatch.api.app import create_app
from gapwatch.api.observe import configure_logging
from gapwatch.auth.tokens import LOCAL_LABEL, create_token, revoke_labelled, revoke_token
from gapwatch.domain.access import Role
from gapwatch.lockfile import CREDENTIALS_FILE, LOCK_FILE, read_lock, write_private
from gapwatch.serve import uploads
from gapwatch.serve.runtime import Runtime
from gapwatch.settings import Settings
from gapwatch.workspace import Workspace, WorkspaceBusy

log = logging.getLogger(__name__)
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Stopped(BaseException):
    """A stop signal came while the server was still starting (not an error: nothing to serve)."""


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: it re-raises the signal after serving, which
    would kill the process before the shutdown below runs (issue 9). :class:`_Stop` handles them."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class _Stop:
    """SIGTERM / SIGINT as a normal stop, whatever phase the process is in."""

    def __init__(self) -> None:
        self.server: uvicorn.Server | None = None  # set while serving
        self.closing = False  # set once the shutdown runs: nothing may interrupt it
        self.signals: list[int] = []

    def __call__(self, sig: int, frame: FrameType | None) -> None:
        self.signals.append(sig)
        if self.closing:
            return
        if self.server is None:  # still starting: abandon the start, the finally blocks clean up
            raise Stopped
        if self.server.should_exit and sig == signal.SIGINT:
            self.server.force_exit = True  # a second Ctrl-C: do not wait for requests in flight
        self.server.should_exit = True

    @contextlib.contextmanager
    def installed(self) -> Iterator[_Stop]:
        if threading.current_thread() is not threading.main_thread():  # only the main thread may
            yield self
            return
        saved = {sig: signal.signal(sig, self) for sig in STOP_SIGNALS}
        try:
            yield self
        finally:
            for sig, handler in saved.items():
                signal.signal(sig, handler)


def serve(
    root: Path,
    settings: Settings,
    on_ready: Callable[[Runtime, str], None] | None = None,
    announce: Callable[[str], None] | None = None,
) -> None:
    """Own ``root`` and serve the API until SIGTERM or SIGINT (blocking).

    ``on_ready(runtime, url)`` runs once the service is up, before requests are taken
    (``gapwatch demo --serve`` prints its sign-in link there); ``announce`` prints the
    "serving" line (stderr by default).

    Raises
    ------
    gapwatch.config.ConfigError
        ``gapwatch.yaml`` has problems (nothing was started).
    WorkspaceBusy, FileNotFoundError, OSError
        The workspace is served or held by another process, not initialised, or the port is taken.
    """
    say = announce or (lambda line: print(line, file=sys.stderr, flush=True))
    stop = _Stop()
    with stop.installed(), contextlib.ExitStack() as undo:
        try:
            _serve(root, settings, stop, undo, say, on_ready)
        except Stopped:
            log.info("stopped while starting")
        finally:
            stop.closing = True  # the cleanup registered on ``undo`` runs next, uninterrupted


def _serve(
    root: Path,
    settings: Settings,
    stop: _Stop,
    undo: contextlib.ExitStack,
    say: Callable[[str], None],
    on_ready: Callable[[Runtime, str], None] | None,
) -> None:
    lock = read_lock(root)
    if lock is not None:
        raise WorkspaceBusy(f"{root} is already served at {lock.url} (pid {lock.pid})")
    sock = _bind(settings)
    undo.callback(sock.close)
    configure_logging(settings.log_format, settings.log_level)
    workspace = Workspace.open(root)  # the configuration and the store: one-line errors, nothing served yet
    undo.callback(_close_store, workspace)
    port = int(sock.getsockname()[1])  # the one webhooks may never call (port 0 picks it now)
    runtime = Runtime(
        settings.model_copy(update={"workspace": root, "port": port}), workspace.config, workspace.store
    )
    undo.callback(runtime.close)
    undo.callback(uploads.sweep, runtime.uploads)  # an upload cut off by the stop
    stale = runtime.write(lambda con: revoke_labelled(con, LOCAL_LABEL))
    if stale:
        log.warning("revoked %d local CLI token(s) left by a server that did not stop cleanly", len(stale))
    uploads.sweep(runtime.uploads)
    plain, record = runtime.write(lambda con: create_token(con, Role.ADMIN, label=LOCAL_LABEL))
    undo.callback(_revoke, runtime, record.id)
    undo.callback((root / CREDENTIALS_FILE).unlink, missing_ok=True)
    write_private(root / CREDENTIALS_FILE, plain + "\n")
    url = _url(sock)
    started = dt.datetime.now(dt.UTC).isoformat()
    say(f"serving {root} at {url} (Ctrl-C or SIGTERM stops)")
    undo.callback((root / LOCK_FILE).unlink, missing_ok=True)
    write_private(root / LOCK_FILE, json.dumps({"url": url, "pid": os.getpid(), "started_at": started}))
    app = create_app(runtime, close_on_shutdown=False)
    if on_ready is not None:
        on_ready(runtime, url)
    config = uvicorn.Config(
        app,
        log_level=settings.log_level,
        log_config=None,  # the handlers configure_logging set (JSON lines with the request id)
        access_log=False,  # gapwatch.access logs each request, with its id and route template
        proxy_headers=True,  # behind a reverse proxy: the client's address and scheme (docs/deploy.md)
        forwarded_allow_ips=settings.forwarded_allow_ips,
        timeout_graceful_shutdown=max(1, round(settings.shutdown_grace_seconds)),
    )
    server = _Server(config)
    stop.server = server
    if stop.signals:  # a signal came between the last check and now
        return
    server.run(sockets=[sock])


def _bind(settings: Settings) -> socket.socket:
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((settings.host, settings.port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}") from exc
    return sock


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{host if ':' not in host else f'[{host}]'}:{port}"


def _revoke(runtime: Runtime, token_id: str) -> None:
    try:
        runtime.write(lambda con: revoke_token(con, token_id))
    except Exception:  # the next start revokes it (revoke_labelled)
        log.exception("could not revoke the local token %s", token_id)


def _close_store(workspace: Workspace) -> None:
    with contextlib.suppress(Exception):
        workspace.store.checkpoint()  # the write-ahead log into the file: the next start replays nothing
    workspace.close()
