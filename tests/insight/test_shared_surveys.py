"""The flat-table contract on real survey exports from ../shared (skipped when absent)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from gapwatch.cli import main
from gapwatch.insight.flat import drivers_of_file
from gapwatch.insight.tables import read_flat

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
AIRLINE = SHARED / "data" / "airline_passenger_satisfaction" / "train.csv.gz"
TELCO = SHARED / "data" / "telco_customer_churn" / "Telco-Customer-Churn.csv"

pytestmark = [
    pytest.mark.shared,
    pytest.mark.skipif(
        not AIRLINE.exists(), reason=f"real survey data not found at {AIRLINE} (../shared absent)"
    ),
]


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any], str]:
    """The CLI as a user runs it: the exit code, the last stdout line as JSON, stderr."""
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, json.loads(out.out.strip().splitlines()[-1]), out.err


@pytest.fixture(scope="module")
def airline(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """6,000 rows to train on and 3,000 held out: a sample keeps the test to seconds (the whole
    file's figures are in bench/insight_figures.py and bench/insight_fit.py)."""
    table = read_flat(AIRLINE).table
    rows = np.random.default_rng(3).permutation(table.num_rows)
    folder = tmp_path_factory.mktemp("airline")
    train, test = folder / "train.csv.gz", folder / "test.parquet"
    with pa.CompressedOutputStream(str(train), "gzip") as out:
        pcsv.write_csv(table.take(pa.array(rows[:6_000])), out)
    pq.write_table(table.take(pa.array(rows[6_000:9_000])), test)
    return train, test


def test_airline_held_out_prediction(airline: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    args = ["predict", "--train", str(airline[0]), "--test", str(airline[1]), "--outcome", "satisfaction"]
    code, found, err = run([*args, "--json"], capsys)
    assert code == 0
    assert list(found) == ["auc", "accuracy", "brier", "n_test"] and found["n_test"] == 3000
    assert found["auc"] > 0.985  # 0.993 measured on this sample; 0.995 on the whole file's 80/20 split
    assert found["brier"] < 0.05 and found["accuracy"] > 0.93
    assert "'id'" in err and "identifier" in err  # the passenger id is no predictor, and stderr says so


def test_airline_drivers(airline: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    args = ["drivers", "--data", str(airline[0]), "--outcome", "satisfaction", "--replicates", "40"]
    code, found, _ = run([*args, "--json"], capsys)
    assert code == 0 and list(found) == ["drivers"]
    drivers = found["drivers"]
    assert all(list(d) == ["name", "importance", "ci"] and len(d["ci"]) == 2 for d in drivers)
    shares = [d["importance"] for d in drivers]
    assert shares == sorted(shares, reverse=True) and sum(shares) == pytest.approx(1.0, abs=1e-9)
    assert all(d["ci"][0] <= d["importance"] <= d["ci"][1] for d in drivers)
    names = [d["name"] for d in drivers]
    assert "Online boarding" in names[:3] and "Inflight wifi service" in names[:3]
    assert "id" not in names and "Unnamed: 0" not in names


@pytest.mark.skipif(not TELCO.exists(), reason=f"telco data not found at {TELCO}")
def test_telco_churn_drivers() -> None:
    found = drivers_of_file(TELCO, "Churn", replicates=30)
    names = [d.name for d in found.result.drivers]
    assert found.target.positive == "Yes"
    assert {"tenure", "Contract"} <= set(names[:3])
    assert "customerID" not in names
    assert "TotalCharges" in names  # numeric despite its 11 blank cells (read as missing)
