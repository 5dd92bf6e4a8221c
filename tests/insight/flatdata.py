"""Synthetic flat survey tables with a known truth: what drives the outcome and by how much."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq


def survey(n: int, seed: int) -> pa.Table:
    """Ratings 1-5 for four touchpoints; 'wait' and 'staff' drive satisfaction, 'parking' a little,
    'decor' not at all; a channel (categorical), an id column, a row counter, gaps in 'wait'."""
    rng = np.random.default_rng(seed)
    ratings = {name: rng.integers(1, 6, n) for name in ("wait", "staff", "parking", "decor")}
    channel = rng.choice(["web", "phone", "store"], n, p=[0.5, 0.3, 0.2])
    eta = (
        1.4 * (ratings["wait"] - 3)
        + 0.8 * (ratings["staff"] - 3)
        + 0.25 * (ratings["parking"] - 3)
        + 0.6 * (channel == "store")
        - 0.8
    )
    satisfied = rng.random(n) < 1 / (1 + np.exp(-eta))
    wait = ratings["wait"].astype(float)
    wait[rng.random(n) < 0.05] = np.nan
    return pa.table(
        {
            "respondent_id": [f"R{seed}-{i:06d}" for i in range(n)],
            "row": np.arange(n),
            "wait": pa.array(wait, from_pandas=True),
            "staff": ratings["staff"],
            "parking": ratings["parking"],
            "decor": ratings["decor"],
            "channel": channel,
            "outcome": np.where(satisfied, "satisfied", "not satisfied"),
        }
    )


def write(table: pa.Table, path: Path) -> Path:
    if path.name.endswith(".parquet"):
        pq.write_table(table, path)
    elif path.name.endswith(".gz"):
        with pa.CompressedOutputStream(str(path), "gzip") as out:
            pcsv.write_csv(table, out)
    else:
        pcsv.write_csv(table, path)
    return path
