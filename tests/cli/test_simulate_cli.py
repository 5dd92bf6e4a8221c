"""`gapwatch simulate` as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gapwatch.cli import main


def test_json_summary_is_the_last_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(
        [
            "simulate",
            "--customers",
            "600",
            "--days",
            "70",
            "--seed",
            "2",
            "--incidents",
            "2",
            "--out",
            str(tmp_path),
            "--json",
        ]
    )
    out = capsys.readouterr().out.strip().splitlines()
    summary = json.loads(out[-1])
    assert summary["out"] == str(tmp_path)
    assert summary["incidents"] == 2 and summary["customers"] == 600
    assert set(summary["files"]) == {"web", "crm", "orders", "usage", "tickets", "survey"}
    for name, rows in summary["files"].items():
        assert len((tmp_path / f"{name}.csv").read_text().splitlines()) == rows + 1
    assert (tmp_path / "truth.json").exists()


def test_human_table_by_default(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["simulate", "--customers", "300", "--days", "30", "--incidents", "0", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "web.csv" in out and "truth.json" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--days", "30"], "--days must be at least"),
        (["--start", "2025-02-30"], "is not a date"),
        (["--customers", "0"], "--customers"),
        (["--dirty", "0.9"], "--dirty"),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["simulate", "--out", str(tmp_path), *args])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_dirty_fraction_is_recorded(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(
        [
            "simulate",
            "--customers",
            "500",
            "--days",
            "60",
            "--incidents",
            "0",
            "--dirty",
            "0.02",
            "--out",
            str(tmp_path),
            "--json",
        ]
    )
    truth = json.loads((tmp_path / "truth.json").read_text())
    assert truth["dirty"]["fraction"] == 0.02
    assert (
        sum(sum(k.values()) for k in truth["dirty"]["rows"].values()) == len(truth["dirty"]["injected"]) > 0
    )
