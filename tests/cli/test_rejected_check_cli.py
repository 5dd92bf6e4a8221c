"""`gapwatch rejected` and `gapwatch check --sample`: what was refused, and what would be, with reasons."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clihelpers import run

HEADER = "order_no,cust_no,delivered_at,customer_tier,delivery_days,promised_days,carrier,region,ordered_at"
ROWS = [
    "A1,C1,2025-03-01T10:00:00Z,STD,4,,DHL,north,x",
    "A2,C2,2025-03-01T10:00:00Z,GOLD,4,,DHL,north,x",
    "A3,C3,2025-03-01T10:00:00Z,STD,2025-03-04 10:00:00,,DHL,north,x",
    "A4,C4,2025-03-01T10:00:00Z,STD,2025-03-05 10:00:00,,DHL,north,x",
    "A5,C5,2025-03-01T10:00:00Z,SILVER,4,,DHL,north,x",
]


@pytest.fixture
def workspace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    run(["init", str(tmp_path / "ws")], capsys)
    (tmp_path / "orders.csv").write_text("\n".join([HEADER, *ROWS]) + "\n")
    return tmp_path / "ws"


def test_rejected_lists_row_reason_and_value(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws = str(workspace)
    code, out, _ = run(["rejected", "--workspace", ws], capsys)
    assert code == 0 and "no rejected rows" in out
    run(["ingest", str(workspace.parent / "orders.csv"), "--source", "orders", "--workspace", ws], capsys)
    code, out, _ = run(["rejected", "--workspace", ws, "--json"], capsys)
    found = json.loads(out.strip().splitlines()[-1])
    assert code == 0 and found["reasons"] == {"bad_value": 2, "unmapped_label": 2}
    by_row = {r["row_number"]: (r["reason_code"], r["value"]) for r in found["rows"]}
    assert by_row == {
        3: ("unmapped_label", "GOLD"),
        4: ("bad_value", "2025-03-04 10:00:00"),
        5: ("bad_value", "2025-03-05 10:00:00"),
        6: ("unmapped_label", "SILVER"),
    }
    code, out, _ = run(["rejected", "--workspace", ws, "--reason", "bad_value", "--limit", "1"], capsys)
    assert code == 0 and "2 rejected row(s): bad_value 2" in out and "1 of 2 shown" in out
    assert "bad_value" in out and "2025-03-0" in out


def test_check_sample_reports_and_stores_nothing(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws, file = str(workspace), str(workspace.parent / "orders.csv")
    code, out, _ = run(["check", "--workspace", ws, "--sample", file, "--source", "orders", "--json"], capsys)
    report = json.loads(out.strip().splitlines()[-1])["sample"]
    assert code == 0 and (report["rows"], report["accepted"], report["rejected"]) == (5, 1, 4)
    assert report["reasons"] == {"bad_value": 2, "unmapped_label": 2}
    assert "between" in report["hints"]["bad_value"]  # a time read as a number
    assert "GOLD" in report["hints"]["unmapped_label"] and "labels: auto" in report["hints"]["unmapped_label"]
    assert [e["row"] for e in report["examples"]["bad_value"]] == [4, 5]
    code, out, _ = run(
        ["check", "--workspace", ws, "--sample", file, "--source", "orders", "--rows", "2"], capsys
    )
    assert code == 0 and "first 2 rows" in out and "1 would be accepted, 1 rejected" in out
    code, out, _ = run(["rejected", "--workspace", ws], capsys)
    assert "no rejected rows" in out  # the sample ran in memory
    code, _, err = run(["check", "--workspace", ws, "--sample", file], capsys)
    assert code == 2 and "go together" in err
    code, _, err = run(["check", "--workspace", ws, "--sample", file, "--source", "nope"], capsys)
    assert code == 2 and "unknown source 'nope'" in err
