"""Store files are their owner's alone (issue 9, item 4): created 0600 in a 0700 folder, WAL included."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import httpx
from durahelpers import GAPWATCH, ServerProcess, cli, free_port

from gapwatch.adapters.duckdb_store import DuckDBStore


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_cli_creates_private_files_and_the_live_wal_is_private(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    done = subprocess.run(
        [*GAPWATCH, "init", str(root)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert mode(root) == 0o700
    for name in ("gapwatch.duckdb", ".gapwatch-secret", "gapwatch.yaml"):
        assert mode(root / name) == 0o600, name
    token = str(cli("token", "create", "--workspace", str(root), "--role", "admin")["token"])
    server = ServerProcess(
        root, free_port(), tmp_path / "server.log", env={"GAPWATCH_CHECKPOINT_EVERY_SECONDS": "600"}
    )
    server.start()
    try:
        event = {
            "event_id": "m1",
            "customer_id": "C1",
            "occurred_at": "2026-03-02T10:00:00Z",
            "moment": "delivery",
            "metric": "delivery_days",
            "value": 3,
        }
        r = httpx.post(
            f"{server.url}/v1/events",
            json={"source": "orders", "events": [event]},
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        assert r.status_code == 200 and r.json()["accepted"] == 1
        wal = root / "gapwatch.duckdb.wal"
        assert wal.exists() and mode(wal) == 0o600  # recreated by DuckDB after each checkpoint
        modes = {p.name: mode(p) for p in root.iterdir() if p.is_file()}
        assert all(m == 0o600 for m in modes.values()), modes
    finally:
        server.stop()


def test_a_library_store_makes_its_files_private(tmp_path: Path) -> None:
    """A library caller's umask may be 022: the store narrows its files itself, at open and at checkpoint."""
    path = tmp_path / "g.duckdb"
    with DuckDBStore(path) as store:
        assert mode(path) == 0o600
        with store.transaction() as con:
            con.execute("INSERT INTO gapwatch_meta VALUES ('note', 'x')")
        store.checkpoint()
        assert all(mode(f) == 0o600 for f in store.files())
