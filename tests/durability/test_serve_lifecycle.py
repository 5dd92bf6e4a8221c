"""`gapwatch serve` starts and stops as a service must (issue 9, items 5-7).

A real server process on loopback: SIGTERM (systemd, Docker, Kubernetes) and SIGINT stop it
within a few seconds, leaving no lock file, no local credential and no active local token;
a server killed with SIGKILL leaves them, and the next start revokes the old token and
sweeps the stale upload files; a broken `gapwatch.yaml` or a store it cannot open is one
line on stderr before anything claims to be serving.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from durahelpers import GAPWATCH, ServerProcess, free_port

from gapwatch.auth.tokens import authenticate, list_tokens
from gapwatch.lockfile import CREDENTIALS_FILE, LOCK_FILE, UPLOADS_DIR
from gapwatch.workspace import Workspace, init_workspace

LOCAL_LABEL = "local CLI"


def _local_tokens(root: Path) -> list[tuple[str, bool]]:
    """(id, active) of every token the server made for the local CLI."""
    with Workspace.open(root) as ws, ws.store.reader() as con:
        return [(t.id, t.revoked_at is None) for t in list_tokens(con) if t.label == LOCAL_LABEL]


def _authenticates(root: Path, token: str) -> bool:
    with Workspace.open(root) as ws, ws.store.reader() as con:
        return authenticate(con, token) is not None


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_server_within_five_seconds_and_leaves_nothing(
    tmp_path: Path, sig: signal.Signals
) -> None:
    root = init_workspace(tmp_path / "ws")
    server = ServerProcess(root, free_port(), tmp_path / "server.log")
    server.start()
    assert server.proc is not None
    token = (root / CREDENTIALS_FILE).read_text().strip()
    with httpx.Client(base_url=server.url, timeout=30) as client:  # a keep-alive connection stays open
        assert client.get("/v1/lifecycle", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        t0 = time.monotonic()
        server.proc.send_signal(sig)
        code = server.proc.wait(timeout=60)
        took = time.monotonic() - t0
    assert took < 5.0, f"stopping took {took:.1f} s"
    assert code == 0, (tmp_path / "server.log").read_text()[-2000:]
    assert not (root / LOCK_FILE).exists() and not (root / CREDENTIALS_FILE).exists()
    assert not _authenticates(root, token)  # the local token is revoked
    assert [active for _, active in _local_tokens(root)] == [False]


def test_a_killed_servers_token_and_uploads_are_swept_at_the_next_start(tmp_path: Path) -> None:
    root = init_workspace(tmp_path / "ws")
    server = ServerProcess(root, free_port(), tmp_path / "server.log")
    server.start()
    old = (root / CREDENTIALS_FILE).read_text().strip()
    server.kill()  # SIGKILL: nothing of the shutdown runs
    assert (root / LOCK_FILE).exists() and (root / CREDENTIALS_FILE).exists()
    assert _authenticates(root, old)  # what issue 9 found: an active admin token left behind
    stale = root / UPLOADS_DIR / "upload-crashed"
    stale.mkdir(parents=True)
    (stale / "crm.csv").write_text("Contact ID\nalice@example.com\n")
    server.start()
    try:
        new = (root / CREDENTIALS_FILE).read_text().strip()
        assert new != old
        r = httpx.get(f"{server.url}/v1/lifecycle", headers={"Authorization": f"Bearer {old}"}, timeout=30)
        assert r.status_code == 401  # revoked at start
        assert not stale.exists() and list((root / UPLOADS_DIR).iterdir()) == []
        assert (root / UPLOADS_DIR).stat().st_mode & 0o777 == 0o700
    finally:
        server.stop()
    assert [active for _, active in _local_tokens(root)] == [False, False]


def _serve(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*GAPWATCH, "serve", "--workspace", str(root), "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (lambda t: t.replace("silo: marketing\n", "silo: nobody\n", 1), "lifecycle[0].silo (line "),
        (lambda t: t.replace("version: 1\n", "version: 1\n  bad: [\n", 1), "(file) (line "),
    ],
)
def test_a_broken_config_is_one_line_with_file_path_and_line_before_serving(
    tmp_path: Path, edit: object, where: str
) -> None:
    root = init_workspace(tmp_path / "ws")
    config = root / "gapwatch.yaml"
    config.write_text(edit(config.read_text()))  # type: ignore[operator]
    done = _serve(root)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: ")
    assert str(config) in done.stderr and where in done.stderr
    assert "serving" not in done.stderr + done.stdout and "Traceback" not in done.stderr
    assert not (root / LOCK_FILE).exists()


def test_a_store_that_cannot_be_opened_is_one_line_before_serving(tmp_path: Path) -> None:
    root = init_workspace(tmp_path / "ws")
    (root / "gapwatch.duckdb").unlink()
    done = _serve(root)
    assert done.returncode != 0 and done.stderr.count("\n") == 1, done.stderr
    assert "gapwatch.duckdb" in done.stderr and "serving" not in done.stderr
    holder = subprocess.Popen(  # another process holds the store's file
        [
            *GAPWATCH[:1],
            "-c",
            "import sys, time, duckdb; c = duckdb.connect(sys.argv[1]); print('held', flush=True); "
            "time.sleep(120)",
            str(init_workspace(tmp_path / "ws2") / "gapwatch.duckdb"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        done = _serve(tmp_path / "ws2")
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    assert done.returncode != 0 and done.stderr.count("\n") == 1, done.stderr
    assert "serving" not in done.stderr and not (tmp_path / "ws2" / LOCK_FILE).exists()


def test_the_serving_line_comes_once_the_store_is_open(tmp_path: Path) -> None:
    root = init_workspace(tmp_path / "ws")
    log = tmp_path / "server.log"
    server = ServerProcess(root, free_port(), log)
    server.start()
    try:
        lines = log.read_text().splitlines()
        assert any(line.startswith("serving ") for line in lines)
        lock = json.loads((root / LOCK_FILE).read_text())
        assert lock["url"] in next(line for line in lines if line.startswith("serving "))
        assert httpx.get(f"{server.url}/openapi.json", timeout=30).status_code == 200
    finally:
        server.stop()


def test_detect_names_the_file_path_and_line_of_a_broken_config_too(tmp_path: Path) -> None:
    root = init_workspace(tmp_path / "ws")
    config = root / "gapwatch.yaml"
    config.write_text(config.read_text().replace("silo: marketing\n", "silo: nobody\n", 1))
    done = subprocess.run(
        [*GAPWATCH, "detect", "--workspace", str(root)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert (
        str(config) in done.stderr and "lifecycle[0].silo (line " in done.stderr and "nobody" in done.stderr
    )
