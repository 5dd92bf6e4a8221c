"""The CLI faces of the service: `gapwatch token create|list|revoke`, and `gapwatch serve` owning
its workspace (the CLI then goes through the server)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from gapwatch.workspace import Workspace, init_workspace

GAPWATCH = [sys.executable, "-m", "gapwatch"]
ORDERS_HEADER = (
    "order_no,cust_no,delivered_at,customer_tier,delivery_days,promised_days,carrier,region,ordered_at"
)
ORDERS = [
    "A1,C1,2025-03-01T10:00:00Z,STD,4,,DHL,north,x",
    "A2,,2025-03-01T10:00:00Z,STD,4,,DHL,north,x",
    "A3,C3,2025-03-01T10:00:00Z,PREM,9,,DHL,north,x",
]


def _wait_for_lock(ws: Path) -> str:
    lock = ws / "gapwatch-serve.lock"
    deadline = time.monotonic() + 60
    while not lock.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    return str(json.loads(lock.read_text())["url"])


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*GAPWATCH, *args], capture_output=True, text=True, timeout=120, check=False)


def test_token_create_prints_once_and_stores_a_hash(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "ws")
    out = _cli("token", "create", "--workspace", str(ws), "--role", "member", "--silo", "sales", "--json")
    assert out.returncode == 0, out.stderr
    made = json.loads(out.stdout.splitlines()[-1])
    assert set(made) == {"token", "id", "role"} and made["role"] == "member"
    assert made["token"].encode() not in (ws / "gapwatch.duckdb").read_bytes()
    bad = _cli("token", "create", "--workspace", str(ws), "--role", "member", "--json")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "silo" in bad.stderr


def test_token_list_and_revoke_without_a_server(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "ws")
    made = [
        json.loads(_cli("token", "create", "--workspace", str(ws), *args, "--json").stdout.splitlines()[-1])
        for args in (("--role", "analyst", "--label", "bi"), ("--role", "ingest", "--source", "crm"))
    ]
    listed = json.loads(_cli("token", "list", "--workspace", str(ws), "--json").stdout.splitlines()[-1])
    assert [t["id"] for t in listed["items"]] == [m["id"] for m in made]
    assert all(t["revoked_at"] is None and "token" not in t for t in listed["items"])
    assert listed["items"][1]["source"] == "crm" and listed["items"][0]["label"] == "bi"
    revoked = _cli("token", "revoke", "--workspace", str(ws), made[0]["id"], "--json")
    assert revoked.returncode == 0, revoked.stderr
    assert json.loads(revoked.stdout.splitlines()[-1])["revoked_at"] is not None
    table = _cli("token", "list", "--workspace", str(ws)).stdout
    assert "revoked" in table.splitlines()[1] and "active" in table.splitlines()[2]
    unknown = _cli("token", "revoke", "--workspace", str(ws), "tk_nope")
    assert unknown.returncode == 2 and unknown.stderr.count("\n") == 1 and "tk_nope" in unknown.stderr


def test_serve_owns_the_workspace_and_the_cli_goes_through_it(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "ws")
    proc = subprocess.Popen(
        [*GAPWATCH, "serve", "--workspace", str(ws), "--port", "0"], stderr=subprocess.DEVNULL
    )
    try:
        url = _wait_for_lock(ws)
        assert oct((ws / ".gapwatch-local-token").stat().st_mode & 0o777) == "0o600"
        made = _cli("token", "create", "--workspace", str(ws), "--role", "admin", "--json")
        assert made.returncode == 0, made.stderr
        token = json.loads(made.stdout.splitlines()[-1])["token"]
        for _ in range(50):
            try:
                r = httpx.get(f"{url}/v1/lifecycle", headers={"Authorization": f"Bearer {token}"})
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert r.status_code == 200 and r.json()["stages"][0]["stage"] == "awareness"
        assert httpx.get(f"{url}/openapi.json").json()["info"]["title"] == "gapwatch"
        listed = _cli("token", "list", "--workspace", str(ws), "--json")  # through the server
        assert listed.returncode == 0, listed.stderr
        ids = [t["id"] for t in json.loads(listed.stdout.splitlines()[-1])["items"]]
        token_id = json.loads(made.stdout.splitlines()[-1])["id"]
        assert token_id in ids
        assert _cli("token", "revoke", "--workspace", str(ws), token_id).returncode == 0
        r = httpx.get(f"{url}/v1/lifecycle", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401  # revoked at once, through the running server
        busy = _cli("detect", "--workspace", str(ws))  # a command that needs the store itself
        assert busy.returncode == 2 and busy.stderr.count("\n") == 1
        assert "owns this workspace" in busy.stderr and url in busy.stderr
    finally:
        os.kill(proc.pid, signal.SIGINT)
        proc.wait(timeout=30)
    assert not (ws / "gapwatch-serve.lock").exists()
    assert not (ws / ".gapwatch-local-token").exists()


def _unusable(ws: Path, tmp: Path) -> list[int]:
    """Exit codes of unusable files: a mapped column missing, no file at all, an unknown source."""
    wrong = tmp / "wrong.csv"
    wrong.write_text("a,b\n1,2\n")
    cases = [(wrong, "orders"), (tmp / "missing.csv", "orders"), (wrong, "nope")]
    codes = []
    for path, source in cases:
        done = _cli("ingest", str(path), "--source", source, "--workspace", str(ws))
        assert done.stderr.count("\n") == 1, done.stderr
        codes.append(done.returncode)
    assert codes == [1, 1, 2]
    return codes


def test_ingest_goes_through_the_running_server(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "ws")
    orders = tmp_path / "orders.csv"
    orders.write_text("\n".join([ORDERS_HEADER, *ORDERS]) + "\n")
    proc = subprocess.Popen(
        [*GAPWATCH, "serve", "--workspace", str(ws), "--port", "0"], stderr=subprocess.DEVNULL
    )
    try:
        _wait_for_lock(ws)
        args = ("ingest", str(orders), "--source", "orders", "--workspace", str(ws), "--json")
        first = _cli(*args)
        assert first.returncode == 0, first.stderr  # the store is the server's: only through it
        counts = json.loads(first.stdout.splitlines()[-1])
        assert (counts["accepted"], counts["duplicate"], counts["rejected"]) == (2, 0, 1)
        assert counts["reasons"] == {"missing_customer": 1} and counts["file"] == "orders.csv"
        again = json.loads(_cli(*args).stdout.splitlines()[-1])
        assert (again["accepted"], again["duplicate"], again["rejected"]) == (0, 2, 1)
        unknown = _cli("ingest", str(orders), "--source", "nope", "--workspace", str(ws))
        assert unknown.returncode == 2 and "nope" in unknown.stderr and unknown.stderr.count("\n") == 1
        served = _unusable(ws, tmp_path)
    finally:
        os.kill(proc.pid, signal.SIGINT)
        proc.wait(timeout=30)
    assert served == _unusable(ws, tmp_path)  # the same exit codes when the CLI opens the store
    with Workspace.open(ws) as opened:  # stored once, rejected row kept with its reason
        stored = opened.store.query("SELECT count(*) AS n FROM experiences").column("n")[0].as_py()
        rejected = opened.store.query("SELECT reason_code, times FROM rejected").to_pylist()
    assert stored == 2 and rejected == [{"reason_code": "missing_customer", "times": 2}]
