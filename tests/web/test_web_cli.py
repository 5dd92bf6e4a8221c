"""`gapwatch report` of any workspace (directly, or through its running server); `gapwatch demo --serve`."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from gapwatch.cli import main

pytestmark = pytest.mark.filterwarnings("ignore:fetch_arrow_table:DeprecationWarning")


def _self_contained(html: str) -> None:
    assert html.startswith("<!DOCTYPE html>") and "<script" not in html
    assert re.findall(r"(?:src|href)=", html) == []


def test_report_of_a_workspace_draws_every_judging_chart(
    world: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(world, ws)
    out = tmp_path / "out" / "r.html"
    main(["report", "--workspace", str(ws), "--out", str(out), "--clock", "event"])
    assert capsys.readouterr().out.strip() == str(out.resolve())
    html = out.read_text(encoding="utf-8")
    _self_contained(html)
    assert 'id="fig-nps"' in html
    assert (
        "panel-bcusum" in html and "Bernoulli CUSUM" in html
    )  # thin streams show the chart that judged them
    assert "panel-miss_rate" in html and "panel-mean_gap" in html


def test_report_of_an_undetected_workspace_says_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["init", str(tmp_path / "fresh")])
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(["report", "--workspace", str(tmp_path / "fresh")])
    assert exc.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: nothing detected") and "gapwatch detect" in err and "\n" not in err


def _wait_for(path: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.1)


@pytest.mark.slow
def test_report_goes_through_the_server_that_owns_the_workspace(world: Path, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(world, ws)
    cmd = [sys.executable, "-m", "gapwatch"]
    server = subprocess.Popen(
        [*cmd, "serve", "--workspace", str(ws), "--port", "0", "--clock", "event"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(ws / "gapwatch-serve.lock")
        time.sleep(0.5)
        out = tmp_path / "served.html"
        done = subprocess.run(
            [*cmd, "report", "--workspace", str(ws), "--out", str(out)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        html = out.read_text(encoding="utf-8")
        _self_contained(html)
        assert "panel-bcusum" in html
    finally:
        server.terminate()
        server.wait(30)


@pytest.mark.slow
def test_demo_serve_prints_a_sign_in_link_that_works_once(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "gapwatch", "demo", "--serve", "--port", "0", "--dir", str(tmp_path / "d")]
    proc = subprocess.Popen(
        [*cmd, "--customers", "1500", "--days", "60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        link = next(
            m.group(1) for line in proc.stdout if (m := re.search(r"(http://\S+/login/once\?code=\S+)", line))
        )
        base = link.split("/login/once")[0]
        with httpx.Client(base_url=base) as first:
            r = first.get(link)
            assert r.status_code == 303 and "HttpOnly" in r.headers["set-cookie"]
            page = first.get("/")
            assert page.status_code == 200 and "analyst" in page.text
        with httpx.Client(base_url=base) as second:
            again = second.get(link)
            assert again.status_code == 401 and "used already" in again.text
            assert second.get("/").status_code == 303
        lock = json.loads((tmp_path / "d" / "gapwatch-serve.lock").read_text(encoding="utf-8"))
        assert lock["url"] == base
    finally:
        proc.terminate()
        proc.wait(30)
        if proc.stdout is not None:
            proc.stdout.close()
    assert not (tmp_path / "d" / "gapwatch-serve.lock").exists()
