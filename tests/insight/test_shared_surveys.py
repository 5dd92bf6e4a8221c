"""The flat-table contract on real survey exports from ../shared (skipped when absent)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pytest

from gapwatch.insight.flat import drivers_of_file, predict_files
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


@pytest.fixture(scope="module")
def airline(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """15,000 rows to train on and 5,000 held out (a sample keeps the test to seconds)."""
    table = read_flat(AIRLINE).table
    rows = np.random.default_rng(3).permutation(table.num_rows)
    folder = tmp_path_factory.mktemp("airline")
    train, test = folder / "train.csv", folder / "test.parquet"
    pcsv.write_csv(table.take(pa.array(rows[:15_000])), train)
    import pyarrow.parquet as pq

    pq.write_table(table.take(pa.array(rows[15_000:20_000])), test)
    return train, test


def test_airline_held_out_prediction(airline: tuple[Path, Path]) -> None:
    found = predict_files(airline[0], airline[1], "satisfaction")
    assert found.n_test == 5000 and found.n_scored == 5000
    assert found.target.positive == "satisfied"  # the rarer class (45,025 of 103,904)
    assert found.auc is not None and found.auc > 0.985
    assert found.brier is not None and found.brier < 0.05
    assert any("'id'" in n and "identifier" in n for n in found.notes)


def test_airline_drivers(airline: tuple[Path, Path]) -> None:
    found = drivers_of_file(airline[0], "satisfaction", replicates=50)
    names = [d.name for d in found.result.drivers]
    assert "Online boarding" in names[:3]
    assert "id" not in names and "Unnamed: 0" not in names
    assert sum(d.importance for d in found.result.drivers) == pytest.approx(1.0)


@pytest.mark.skipif(not TELCO.exists(), reason=f"telco data not found at {TELCO}")
def test_telco_churn_drivers() -> None:
    found = drivers_of_file(TELCO, "Churn", replicates=30)
    names = [d.name for d in found.result.drivers]
    assert found.target.positive == "Yes"
    assert {"tenure", "Contract"} <= set(names[:3])
    assert "customerID" not in names
    assert "TotalCharges" in names  # numeric despite its 11 blank cells (read as missing)
