"""A workspace: one folder with `gapwatch.yaml`, a secret and the embedded store.

``init_workspace`` creates it; ``Workspace.open`` loads the configuration, builds the
lifecycle, opens the store in the workspace time zone and brings the stored expectations
in line with the YAML (keeping their history).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from gapwatch.adapters.duckdb_store import DuckDBStore
from gapwatch.config import CONFIG_FILE, WorkspaceConfig, default_config_text, load_config
from gapwatch.domain.lifecycle import Lifecycle
from gapwatch.expectations import sync_expectations
from gapwatch.lockfile import WorkspaceBusy, read_lock
from gapwatch.ports import StoreLocked

__all__ = [
    "DB_FILE",
    "SECRET_FILE",
    "Workspace",
    "WorkspaceBusy",
    "WorkspaceExists",
    "init_workspace",
    "read_secret",
]

DB_FILE = "gapwatch.duckdb"
SECRET_FILE = ".gapwatch-secret"


class WorkspaceExists(FileExistsError):
    """``init`` would overwrite an existing workspace (use ``force``)."""


def read_secret(folder: Path) -> bytes:
    """The workspace's key for pseudonymous ids (created by ``init``)."""
    path = folder / SECRET_FILE
    try:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError) as exc:
        raise FileNotFoundError(
            f"{path}: the workspace secret is missing or damaged ({exc}); run `gapwatch init` on a new folder"
        ) from exc


def _write_secret(path: Path) -> None:
    """A new random key, readable by its owner only (mode 0600 from the start)."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secrets.token_hex(32) + "\n")
    path.chmod(0o600)


def init_workspace(folder: str | Path, *, force: bool = False, config_text: str | None = None) -> Path:
    """Create a workspace: ``gapwatch.yaml``, a secret (mode 0600) and the DuckDB store.

    Parameters
    ----------
    folder
        The workspace folder (created if needed).
    force
        Replace an existing workspace (its store is emptied: this deletes data).
    config_text
        YAML to write instead of the default template.

    Returns
    -------
    Path
        The workspace folder.

    Raises
    ------
    WorkspaceExists
        When the folder already holds a workspace and ``force`` is false.
    """
    root = Path(folder)
    existing = [name for name in (CONFIG_FILE, DB_FILE, SECRET_FILE) if (root / name).exists()]
    if existing and not force:
        raise WorkspaceExists(
            f"{root} already holds a workspace ({', '.join(existing)}); use --force to replace it"
        )
    root.mkdir(parents=True, exist_ok=True)
    (root / CONFIG_FILE).write_text(config_text or default_config_text(), encoding="utf-8")
    _write_secret(root / SECRET_FILE)
    for name in (DB_FILE, DB_FILE + ".wal"):
        (root / name).unlink(missing_ok=True)
    config = load_config(root)
    with DuckDBStore(root / DB_FILE, timezone=config.workspace.timezone, secret=read_secret(root)) as store:
        sync_expectations(store, config)
    return root


@dataclass
class Workspace:
    """An open workspace: its configuration, lifecycle and store.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = init_workspace(tmp)
    ...     with Workspace.open(tmp) as ws:
    ...         ws.lifecycle.silo_of("delivery"), ws.store.count("expectations")
    ('delivery', 17)
    """

    root: Path
    config: WorkspaceConfig
    lifecycle: Lifecycle
    store: DuckDBStore

    @classmethod
    def open(cls, folder: str | Path = ".", *, read_only: bool = False) -> Workspace:
        """Open a workspace folder; a writable open syncs the expectations from the YAML.

        Raises
        ------
        gapwatch.config.ConfigError
            When `gapwatch.yaml` is missing or has problems (all of them are listed).
        FileNotFoundError
            When the folder has no store or no secret (not initialised).
        WorkspaceBusy
            When another process holds the store (a running ``gapwatch serve``, say).
        """
        root = Path(folder)
        config = load_config(root)
        if not (root / DB_FILE).exists():
            raise FileNotFoundError(f"{root / DB_FILE}: no store here; run `gapwatch init {root}` first")
        try:
            store = DuckDBStore(
                root / DB_FILE,
                timezone=config.workspace.timezone,
                secret=read_secret(root),
                read_only=read_only,
            )
        except StoreLocked as exc:
            raise WorkspaceBusy(_busy_message(root)) from exc
        if not read_only:
            sync_expectations(store, config)
        return cls(root, config, Lifecycle.from_config(config), store)

    @property
    def database(self) -> Path:
        return self.root / DB_FILE

    def close(self) -> None:
        """Close the store."""
        self.store.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _busy_message(root: Path) -> str:
    lock = read_lock(root)
    if lock is None:
        return f"{root}: another process holds the store; wait for it to finish, or stop it"
    return (
        f"{root}: `gapwatch serve` (pid {lock.pid}) owns this workspace at {lock.url}; its detection "
        "runs live (GET /v1/streams, /v1/alerts) and `gapwatch ingest` / `token` go through it. "
        "Stop it (Ctrl-C) to run this command on the store directly"
    )
