"""`gapwatch init` and `gapwatch check` as a user runs them."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from clihelpers import run


def test_init_writes_config_secret_and_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["init", str(tmp_path / "ws"), "--json"], capsys)
    assert code == 0
    info = json.loads(out.strip().splitlines()[-1])
    assert Path(info["store"]).name == "gapwatch.duckdb" and Path(info["config"]).is_file()
    mode = stat.S_IMODE((tmp_path / "ws" / ".gapwatch-secret").stat().st_mode)
    assert mode == 0o600


def test_init_refuses_to_overwrite_without_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["init", str(tmp_path)], capsys)[0] == 0
    secret = (tmp_path / ".gapwatch-secret").read_text()
    code, _, err = run(["init", str(tmp_path)], capsys)
    assert code == 2 and "--force" in err and len(err.strip().splitlines()) == 1
    assert run(["init", str(tmp_path), "--force"], capsys)[0] == 0
    assert (tmp_path / ".gapwatch-secret").read_text() != secret


def test_check_lists_every_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(["init", str(tmp_path)], capsys)
    assert run(["check", "--workspace", str(tmp_path)], capsys)[0] == 0
    yaml = tmp_path / "gapwatch.yaml"
    text = (
        yaml.read_text()
        .replace("timezone: UTC ", "timezone: Nowhere/Else ")
        .replace("silo: sales\n", "silo: saless\n", 1)
    )
    yaml.write_text(text)
    code, _, err = run(["check", "--workspace", str(tmp_path)], capsys)
    assert code == 2
    assert "workspace.timezone (line" in err and ".silo (line" in err
    code, out, _ = run(["check", "--workspace", str(tmp_path), "--json"], capsys)
    report = json.loads(out.strip().splitlines()[-1])
    assert code == 2 and report["ok"] is False and len(report["problems"]) >= 2
    assert all(p["line"] for p in report["problems"])
