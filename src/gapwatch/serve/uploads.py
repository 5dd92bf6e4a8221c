"""Where files posted to ``POST /v1/files`` wait while they are ingested.

An upload is customer data (a CRM export, a ticket dump), so it lives in a folder the
workspace owns, ``<workspace>/.gapwatch-uploads`` (mode 0700, each upload in its own 0700
folder, the file 0600), never in the machine's shared temporary folder. Each upload is
removed once ingested; a server that dies mid-upload (SIGKILL, a power cut) leaves it
behind, and the next start sweeps the folder (:func:`sweep`) — safe, because the server
owns the workspace while it runs (the lock file). Earlier versions wrote
``gapwatch-upload-*`` folders to the system temporary folder: those older than a day and
owned by this user are swept as well.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

from gapwatch.lockfile import UPLOADS_DIR

log = logging.getLogger(__name__)
LEGACY_PREFIX = "gapwatch-upload-"
LEGACY_AGE_SECONDS = 86_400.0


def upload_root(workspace: Path | None) -> Path:
    """The uploads folder of ``workspace`` (created 0700); a private temporary one without a workspace."""
    if workspace is None:  # an in-memory service (tests, the library)
        return Path(tempfile.mkdtemp(prefix="gapwatch-uploads-"))
    folder = workspace / UPLOADS_DIR
    folder.mkdir(mode=0o700, exist_ok=True)
    folder.chmod(0o700)  # also when an older version made it with the umask's mode
    return folder


def new_upload(root: Path) -> Path:
    """A fresh folder (0700) for one upload under ``root``."""
    return Path(tempfile.mkdtemp(prefix="upload-", dir=root))


def open_private(path: Path) -> int:
    """A new file for writing, readable by its owner only (0600 whatever the umask)."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)


def sweep(root: Path) -> int:
    """Remove every leftover upload under ``root`` and the old-style ones in the temp folder; how many."""
    removed = 0
    for entry in list(root.iterdir()):
        _remove(entry)
        removed += 1
    removed += _sweep_legacy(Path(tempfile.gettempdir()))
    if removed:
        log.warning("removed %d upload(s) left by a server that stopped mid-upload", removed)
    return removed


def _sweep_legacy(tmp: Path) -> int:
    removed = 0
    now = time.time()
    uid = os.getuid()
    for entry in tmp.glob(f"{LEGACY_PREFIX}*"):
        try:
            st = entry.lstat()
        except OSError:
            continue
        if st.st_uid == uid and now - st.st_mtime > LEGACY_AGE_SECONDS:
            _remove(entry)
            removed += 1
    return removed


def _remove(entry: Path) -> None:
    if entry.is_dir() and not entry.is_symlink():
        shutil.rmtree(entry, ignore_errors=True)
    else:
        entry.unlink(missing_ok=True)
