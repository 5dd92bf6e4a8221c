"""`gapwatch ingest` as a user runs it: summary, --json shape, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clihelpers import run

HEADER = "order_no,cust_no,delivered_at,customer_tier,delivery_days,promised_days,carrier,region,ordered_at"
ROWS = [
    "A1,C1,2025-03-01T10:00:00Z,STD,4,,DHL,north,x",
    "A2,,2025-03-01T10:00:00Z,STD,4,,DHL,north,x",
    "A3,C3,2025-03-01T10:00:00Z,PREM,9,,DHL,north,x",
]


@pytest.fixture
def workspace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    run(["init", str(tmp_path / "ws")], capsys)
    (tmp_path / "orders.csv").write_text("\n".join([HEADER, *ROWS]) + "\n")
    return tmp_path / "ws"


def test_json_output_shape_and_rerun(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = str(workspace.parent / "orders.csv")
    code, out, _ = run(
        ["ingest", file, "--source", "orders", "--workspace", str(workspace), "--json"], capsys
    )
    summary = json.loads(out.strip().splitlines()[-1])
    assert code == 0
    assert {k: summary[k] for k in ("accepted", "duplicate", "rejected")} == {
        "accepted": 2,
        "duplicate": 0,
        "rejected": 1,
    }
    assert summary["received"] == 3 and summary["reasons"] == {"missing_customer": 1}
    code, out, _ = run(["ingest", file, "--source", "orders", "--workspace", str(workspace)], capsys)
    assert code == 0 and out.strip().splitlines()[-1] == "0 accepted / 2 duplicate / 1 rejected"


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["nowhere.csv", "--source", "orders"], 1),
        (["orders.csv", "--source", "nope"], 2),
        (["orders.csv", "--source", "tickets"], 1),  # the file lacks the mapping's columns
    ],
)
def test_unusable_input_exits_non_zero_with_one_line(
    workspace: Path, capsys: pytest.CaptureFixture[str], args: list[str], code: int
) -> None:
    args = [str(workspace.parent / args[0]), *args[1:], "--workspace", str(workspace)]
    got, out, err = run(["ingest", *args], capsys)
    assert got == code and out == "" and len(err.strip().splitlines()) == 1


def test_workspace_defaults_to_the_current_folder(
    workspace: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(workspace)
    code, out, _ = run(["ingest", "../orders.csv", "--source", "orders", "--json"], capsys)
    assert code == 0 and json.loads(out.strip().splitlines()[-1])["accepted"] == 2
