"""The flat-table contract: `gapwatch drivers --data`, `gapwatch predict --train --test` (issue 12 item 6)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from flatdata import survey, write

from gapwatch.cli import main


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("flat")
    return {
        "train": write(survey(1500, 1), d / "train.csv.gz"),
        "test": write(survey(600, 2), d / "test.parquet"),
        "data": write(survey(1200, 3), d / "data.csv"),
    }


def test_drivers_json_contract(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        ["drivers", "--data", str(files["data"]), "--outcome", "outcome", "--seed", "7", "--json"], capsys
    )
    assert code == 0
    obj = json.loads(out.strip().splitlines()[-1])
    assert list(obj) == ["drivers"]
    drivers = obj["drivers"]
    assert all(set(d) == {"name", "importance", "ci"} for d in drivers)
    assert [d["name"] for d in drivers][:2] == ["wait", "staff"]
    assert drivers[-1]["name"] == "decor"
    assert sum(d["importance"] for d in drivers) == pytest.approx(1.0, abs=1e-9)
    shares = [d["importance"] for d in drivers]
    assert shares == sorted(shares, reverse=True)
    for d in drivers:
        low, high = d["ci"]
        assert 0.0 <= low <= d["importance"] <= high <= 1.0
    # the id and the row counter are not drivers, and stderr says why
    assert {"respondent_id", "row"}.isdisjoint(d["name"] for d in drivers)
    assert "respondent_id" in err and "row" in err and "identifier-like" in err


def test_drivers_seed_repeats_and_differs(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    args = ["drivers", "--data", str(files["data"]), "--outcome", "outcome", "--replicates", "40", "--json"]
    outs = [run([*args, "--seed", s], capsys)[1].strip().splitlines()[-1] for s in ("1", "1", "2")]
    assert outs[0] == outs[1]
    assert outs[0] != outs[2]


def test_predict_json_contract(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        [
            "predict",
            "--train",
            str(files["train"]),
            "--test",
            str(files["test"]),
            "--outcome",
            "outcome",
            "--json",
        ],
        capsys,
    )
    assert code == 0
    obj = json.loads(out.strip().splitlines()[-1])
    assert list(obj) == ["auc", "accuracy", "brier", "n_test"]
    assert obj["n_test"] == 600
    # the Bayes-optimal AUC of this world is about 0.91: a sound model gets close
    assert obj["auc"] > 0.86
    assert obj["accuracy"] > 0.75
    assert 0.0 < obj["brier"] < 0.2
    assert "respondent_id" in err


def test_rarer_class_is_positive_by_default(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table = survey(800, 4)
    counts = {v: table.column("outcome").to_pylist().count(v) for v in ("satisfied", "not satisfied")}
    rarer = min(counts, key=lambda k: counts[k])
    path = write(table, tmp_path / "t.csv")
    base = ["predict", "--train", str(path), "--test", str(path), "--outcome", "outcome", "--json"]
    default = json.loads(run(base, capsys)[1].strip().splitlines()[-1])
    explicit = json.loads(run([*base, "--positive", rarer], capsys)[1].strip().splitlines()[-1])
    other = json.loads(
        run([*base, "--positive", next(k for k in counts if k != rarer)], capsys)[1].strip().splitlines()[-1]
    )
    assert default == explicit
    assert other["auc"] == pytest.approx(default["auc"], abs=0.01)  # flipping the class mirrors the ranking
    assert other["brier"] == pytest.approx(default["brier"], abs=0.01)


def test_every_test_row_gets_a_prediction(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    train = write(survey(700, 5), tmp_path / "train.csv")
    # the test file: empty cells everywhere, an unseen channel, a column missing, unlabeled rows
    test = survey(50, 6).drop_columns(["parking"])
    cols = {name: test.column(name).to_pylist() for name in test.column_names}
    for i in range(0, 50, 3):
        cols["staff"][i] = None
        cols["wait"][i] = None
    cols["channel"][1] = "carrier pigeon"
    cols["outcome"][2] = None
    test_path = write(pa.table(cols), tmp_path / "test.csv")
    preds = tmp_path / "p.csv"
    code, out, err = run(
        [
            "predict",
            "--train",
            str(train),
            "--test",
            str(test_path),
            "--outcome",
            "outcome",
            "--predictions",
            str(preds),
            "--json",
        ],
        capsys,
    )
    assert code == 0
    obj = json.loads(out.strip().splitlines()[-1])
    assert obj["n_test"] == 50
    lines = preds.read_text().strip().splitlines()
    assert len(lines) == 51
    probs = np.array([float(line.split(",")[1]) for line in lines[1:]])
    assert np.all((probs >= 0) & (probs <= 1))
    assert "1 test row(s) without an outcome" in err


def test_human_output(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        ["drivers", "--data", str(files["data"]), "--outcome", "outcome", "--replicates", "20"], capsys
    )
    assert code == 0 and "Key drivers" in out and "wait" in out and "95% interval" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["drivers", "--data", "{data}", "--outcome", "nope", "--json"], "no column 'nope'"),
        (["drivers", "--data", "{data}", "--json"], "--outcome"),
        (["drivers", "--data", "{missing}", "--outcome", "outcome"], "no such file"),
        (["drivers", "--data", "{data}", "--outcome", "outcome", "--positive", "maybe"], "not a value"),
        (["drivers", "--data", "{data}", "--outcome", "channel"], "choose the positive"),
        (["predict", "--train", "{data}", "--outcome", "outcome"], "--test"),
        (["predict", "--train", "{data}", "--test", "{data}", "--outcome", "staff", "--json"], "--positive"),
        (["drivers", "--data", "{data}", "--outcome", "outcome", "--positive", "<=2"], "not numeric"),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    files: dict[str, Path], args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    filled = [a.format(data=files["data"], missing=files["data"].with_name("absent.csv")) for a in args]
    code, out, err = run(filled, capsys)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and message in err


def test_numeric_outcome_comparison_and_continuous(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(9)
    n = 600
    a, b = rng.normal(size=n), rng.normal(size=n)
    score = np.clip(np.round(7 + 1.5 * a + 0.5 * b + rng.normal(size=n)), 0, 10)
    path = write(pa.table({"a": a, "b": b, "noise": rng.normal(size=n), "nps": score}), tmp_path / "nps.csv")
    for extra in ([], ["--positive", "<=6"]):
        code, out, _ = run(
            ["drivers", "--data", str(path), "--outcome", "nps", *extra, "--replicates", "30", "--json"],
            capsys,
        )
        assert code == 0
        names = [d["name"] for d in json.loads(out.strip().splitlines()[-1])["drivers"]]
        assert names == ["a", "b", "noise"]
