"""Who owns a workspace (DESIGN.md, "One process owns a workspace").

While ``gapwatch serve`` runs, it holds the workspace's DuckDB file and writes two files
next to it: ``gapwatch-serve.lock`` (its URL and process id) and ``.gapwatch-local-token``
(an admin token for this machine's CLI, mode 0600). CLI commands that find a live lock go
through the server's API with that token instead of opening the file. This module only
reads and writes those files; it sits beside :mod:`gapwatch.workspace`, below every room
and face, and imports nothing of gapwatch.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

LOCK_FILE = "gapwatch-serve.lock"
CREDENTIALS_FILE = ".gapwatch-local-token"


class WorkspaceBusy(RuntimeError):
    """Another process owns the workspace's store (DESIGN.md, "One process owns a workspace")."""


@dataclass(frozen=True, slots=True)
class ServerLock:
    url: str
    pid: int
    started_at: str


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_lock(root: Path) -> ServerLock | None:
    """The lock of a live server on ``root``, or None (no lock, or its process is gone)."""
    try:
        data = json.loads((root / LOCK_FILE).read_text(encoding="utf-8"))
        lock = ServerLock(str(data["url"]), int(data["pid"]), str(data["started_at"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return lock if _alive(lock.pid) else None


def local_server(root: Path) -> tuple[str, str] | None:
    """(URL, admin token) of the server owning ``root``, for CLI commands; None when none runs."""
    lock = read_lock(root)
    if lock is None:
        return None
    try:
        token = (root / CREDENTIALS_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return lock.url, token


def write_private(path: Path, text: str) -> None:
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
