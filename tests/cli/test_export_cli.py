"""`gapwatch export`: rows read back equal the store's; pseudonymous ids only; through the server too."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
from clihelpers import run

import gapwatch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "durability"))
from durahelpers import GAPWATCH, ServerProcess, free_port

# The store's rows as an export holds them: every column but the internal hashes and the text.
STORE_EXPERIENCES = (
    "SELECT * EXCLUDE (key_hash, payload_hash, attributes, text), CAST(attributes AS VARCHAR) AS attributes "
    "FROM experiences"
)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from gapwatch.simulate import simulate, write_world

    root = tmp_path_factory.mktemp("export")
    world = root / "world"
    write_world(simulate(800, 60, 11), world)
    ws = gapwatch.init(root / "ws")
    with gapwatch.open(ws) as gw:
        for name in ("web", "crm", "orders", "usage", "tickets", "survey"):
            gw.ingest(world / f"{name}.csv", source=name)
        gw.detect(clock="event")
    return ws


def _sorted(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return sorted(rows, key=repr)


def _store(ws: Path, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    con = duckdb.connect(str(ws / "gapwatch.duckdb"), read_only=True)
    try:
        cur = con.execute(sql)
        return [d[0] for d in cur.description], cur.fetchall()
    finally:
        con.close()


def test_parquet_partitioned_by_period_reads_back_equal(
    workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "experiences"
    code, stdout, _ = run(
        ["export", "--what", "experiences", "--out", str(out), "--workspace", str(workspace), "--json"],
        capsys,
    )
    assert code == 0
    summary = json.loads(stdout.strip().splitlines()[-1])
    names, want = _store(workspace, STORE_EXPERIENCES)
    assert summary["rows"] == len(want) > 10_000 and summary["partitioned_by"] == "period"
    days = sorted(p.name for p in out.iterdir())
    assert days[0].startswith("period=") and summary["files"] == len(days)
    back = duckdb.connect()
    got = back.execute(
        f"SELECT {', '.join(names)} FROM read_parquet('{out}/**/*.parquet', hive_partitioning = true)"
    ).fetchall()
    assert _sorted(got) == _sorted(want)
    assert back.execute(
        f"SELECT typeof(period) FROM read_parquet('{out}/**/*.parquet') LIMIT 1"
    ).fetchone() == ("DATE",)
    frame = pd.read_parquet(out)  # pandas reads the hive layout as it is
    assert len(frame) == len(want) and "text" not in frame.columns


def test_pseudonymous_ids_only(workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "x.parquet"
    args = ["export", "--what", "experiences", "--out", str(out), "--workspace", str(workspace)]
    assert run([*args, "--text"], capsys)[0] == 0
    frame = pd.read_parquet(out)
    _, ids = _store(workspace, "SELECT customer_id FROM identities")
    real = {i for (i,) in ids}
    cells = {str(v) for col in frame.columns if frame[col].dtype == object for v in frame[col].dropna()}
    assert real and not (real & cells), "a real customer id left the store"
    assert "text" in frame.columns and {"customer_key", "anonymous_key"} <= set(frame.columns)


def test_csv_since_and_every_kind(
    workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    since = "2025-02-01"
    where = ["--workspace", str(workspace)]
    for what in ("experiences", "signals", "streams"):
        out = tmp_path / f"{what}.csv"
        code, _, err = run(
            ["export", "--what", what, "--format", "csv", "--since", since, "--out", str(out), *where],
            capsys,
        )
        assert code == 0, err
        table = "stream_periods" if what == "streams" else what
        _, want = _store(workspace, f"SELECT count(*) FROM {table} WHERE period >= DATE '{since}'")
        got = duckdb.connect().execute(f"SELECT count(*), min(period) FROM read_csv('{out}')").fetchone()
        assert got is not None and got[0] == want[0][0] > 0 and str(got[1]) >= since
    code, _, err = run(
        ["export", "--what", "alerts", "--out", str(tmp_path / "a"), "--workspace", str(workspace)], capsys
    )
    assert code == 2 and err.count("\n") == 1 and "gapwatch serve" in err
    code, _, err = run(
        ["export", "--what", "signals", "--out", str(out), "--workspace", str(workspace)], capsys
    )
    assert code == 2 and "exists" in err


def test_through_the_server_that_owns_the_workspace(workspace: Path, tmp_path: Path) -> None:
    server = ServerProcess(workspace, free_port(), tmp_path / "server.log")
    server.start()
    try:
        for what in ("experiences", "alerts", "cases"):
            out = tmp_path / what
            done = subprocess.run(
                [
                    *GAPWATCH,
                    "export",
                    "--what",
                    what,
                    "--out",
                    str(out),
                    "--workspace",
                    str(workspace),
                    "--json",
                ],
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert done.returncode == 0, done.stderr
            assert json.loads(done.stdout.splitlines()[-1])["rows"] >= 0
    finally:
        server.stop()
    names, want = _store(workspace, STORE_EXPERIENCES)
    got = (
        duckdb.connect()
        .execute(f"SELECT {', '.join(names)} FROM read_parquet('{tmp_path}/experiences/**/*.parquet')")
        .fetchall()
    )
    assert _sorted(got) == _sorted(want)
