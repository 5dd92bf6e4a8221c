"""Gap arithmetic against worked examples written by hand, and the SQL scoring against gap.py.

The properties below restate DESIGN.md's rules with plain comparisons per direction (no
sign trick), so they check ``score`` rather than repeat it.
"""

from __future__ import annotations

import math

import duckdb
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gapwatch.adapters.duckdb_sql import score_sql
from gapwatch.domain.gap import Status, score, score_arrays

MISSED, MET, EXCEEDED = Status.MISSED, Status.MET, Status.EXCEEDED

# (value, adequate, desired, direction, expected) -> (status, signed gap, normalised gap), by hand.
WORKED = [
    # Delivery days, lower is better, zone 5 (adequate) .. 2 (desired).
    ((4, 5, 2, "lower", None), (MET, 1.0, 1 / 3)),
    ((5, 5, 2, "lower", None), (MET, 0.0, 0.0)),  # exactly on adequate: met
    ((2, 5, 2, "lower", None), (MET, 3.0, 1.0)),  # exactly on desired: met
    ((1, 5, 2, "lower", None), (EXCEEDED, 4.0, 4 / 3)),
    ((6, 5, 2, "lower", None), (MISSED, -1.0, -1 / 3)),
    ((8, 5, 2, "lower", None), (MISSED, -3.0, -1.0)),
    # CSAT 1..5, higher is better, zone 3 .. 5.
    ((3, 3, 5, "higher", None), (MET, 0.0, 0.0)),
    ((5, 3, 5, "higher", None), (MET, 2.0, 1.0)),
    ((1, 3, 5, "higher", None), (MISSED, -2.0, -1.0)),
    ((4, 3, 5, "higher", None), (MET, 1.0, 0.5)),
    # Renewal notice, higher is better, 30 .. 60 days; 75 days delights.
    ((75, 30, 60, "higher", None), (EXCEEDED, 45.0, 1.5)),
    # Promised 3 days (a stated expectation replaces adequate 5): waiting 4 is a miss.
    ((4, 5, 2, "lower", 3), (MISSED, -1.0, -1.0)),
    ((3, 5, 2, "lower", 3), (MET, 0.0, 0.0)),
    ((2, 5, 2, "lower", 3), (MET, 1.0, 1.0)),
    ((1, 5, 2, "lower", 3), (EXCEEDED, 2.0, 2.0)),
    # Stated 2 equals desired 2: a zone of no width; the declared width 3 normalises.
    ((2, 5, 2, "lower", 2), (MET, 0.0, 0.0)),
    ((3, 5, 2, "lower", 2), (MISSED, -1.0, -1 / 3)),
    ((1, 5, 2, "lower", 2), (EXCEEDED, 1.0, 1 / 3)),
    # Promised 1 day when 2 would delight: 1.5 days is worse than promised, so missed first.
    ((1.5, 5, 2, "lower", 1), (MISSED, -0.5, -0.5)),
    # A customer's own E-score 4 on a 1..5 scale (higher): 4 met, 3 missed.
    ((4, 3, 5, "higher", 4), (MET, 0.0, 0.0)),
    ((3, 3, 5, "higher", 4), (MISSED, -1.0, -1.0)),
]


@pytest.mark.parametrize(("args", "want"), WORKED)
def test_worked_examples(
    args: tuple[float, float, float, str, float | None], want: tuple[Status, float, float]
) -> None:
    value, adequate, desired, direction, expected = args
    gap = score(value, adequate, desired, direction, expected)  # type: ignore[arg-type]
    assert gap.status == want[0]
    assert gap.signed == pytest.approx(want[1])
    assert gap.normalised == pytest.approx(want[2])


levels = st.integers(min_value=-1000, max_value=1000).map(lambda i: i / 4)


@settings(max_examples=300, deadline=None)
@given(
    value=levels,
    adequate=levels,
    width=st.integers(1, 400).map(lambda i: i / 4),
    direction=st.sampled_from(["higher", "lower"]),
)
def test_status_and_gap_by_plain_comparison(
    value: float, adequate: float, width: float, direction: str
) -> None:
    desired = adequate + width if direction == "higher" else adequate - width
    gap = score(value, adequate, desired, direction)  # type: ignore[arg-type]
    if direction == "higher":
        worse_than_adequate, better_than_desired, gap_by_hand = (
            value < adequate,
            value > desired,
            value - adequate,
        )
    else:
        worse_than_adequate, better_than_desired, gap_by_hand = (
            value > adequate,
            value < desired,
            adequate - value,
        )
    want = MISSED if worse_than_adequate else EXCEEDED if better_than_desired else MET
    assert gap.status == want
    assert gap.signed == gap_by_hand
    assert gap.normalised == pytest.approx(gap_by_hand / width)
    assert (gap.signed < 0) == (gap.status == MISSED)


@settings(max_examples=200, deadline=None)
@given(
    adequate=levels,
    width=st.integers(1, 400).map(lambda i: i / 4),
    direction=st.sampled_from(["higher", "lower"]),
)
def test_edges_are_met_and_normalised_zero_one(adequate: float, width: float, direction: str) -> None:
    desired = adequate + width if direction == "higher" else adequate - width
    at_adequate = score(adequate, adequate, desired, direction)  # type: ignore[arg-type]
    at_desired = score(desired, adequate, desired, direction)  # type: ignore[arg-type]
    assert (at_adequate.status, at_adequate.normalised) == (MET, 0.0)
    assert (at_desired.status, at_desired.normalised) == (MET, 1.0)


@settings(max_examples=200, deadline=None)
@given(value=levels, adequate=levels, desired=levels, expected=levels)
def test_direction_mirrors(value: float, adequate: float, desired: float, expected: float) -> None:
    """Lower-is-better on x is higher-is-better on -x."""
    if adequate == desired:
        return
    low = score(value, adequate, desired, "lower", expected)
    high = score(-value, -adequate, -desired, "higher", -expected)
    assert (low.status, low.signed) == (high.status, high.signed)
    assert low.normalised == high.normalised


@settings(max_examples=200, deadline=None)
@given(
    value=levels,
    adequate=levels,
    width=st.integers(1, 400).map(lambda i: i / 4),
    expected=levels,
    direction=st.sampled_from(["higher", "lower"]),
)
def test_stated_expectation_replaces_adequate(
    value: float, adequate: float, width: float, expected: float, direction: str
) -> None:
    desired = adequate + width if direction == "higher" else adequate - width
    gap = score(value, adequate, desired, direction, expected)  # type: ignore[arg-type]
    worse = value < expected if direction == "higher" else value > expected
    assert gap.adequate == expected
    assert (gap.status == MISSED) == worse
    assert gap.signed == (value - expected if direction == "higher" else expected - value)
    assert math.isfinite(gap.normalised)


def _sql_scores(
    value: np.ndarray, adequate: np.ndarray, desired: np.ndarray, sign: np.ndarray, expected: np.ndarray
) -> dict[str, np.ndarray]:
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE t (i INTEGER, value DOUBLE, adequate DOUBLE, desired DOUBLE, sign DOUBLE, "
        "expected DOUBLE)"
    )
    rows = [
        (i, *map(float, r[:4]), None if math.isnan(r[4]) else float(r[4]))
        for i, r in enumerate(zip(value, adequate, desired, sign, expected, strict=True))
    ]
    con.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?)", rows)
    exprs = score_sql("value", "adequate", "desired", "sign", "expected")
    sql = "SELECT " + ", ".join(f"{e} AS {n}" for n, e in exprs.items()) + " FROM t ORDER BY i"
    out = con.sql(sql).fetchnumpy()
    return {k: np.asarray(v) for k, v in out.items()}


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            levels,
            levels,
            st.integers(1, 400).map(lambda i: i / 4),
            st.booleans(),
            st.one_of(st.none(), levels),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_sql_scoring_equals_gap_py(rows: list[tuple[float, float, float, bool, float | None]]) -> None:
    value = np.array([r[0] for r in rows])
    adequate = np.array([r[1] for r in rows])
    sign = np.array([1.0 if r[3] else -1.0 for r in rows])
    desired = adequate + sign * np.array([r[2] for r in rows])
    expected = np.array([np.nan if r[4] is None else r[4] for r in rows])
    signed, norm, status, used = score_arrays(value, adequate, desired, sign, expected)
    sql = _sql_scores(value, adequate, desired, sign, expected)
    assert np.array_equal(sql["gap"], signed)
    assert np.array_equal(np.asarray(sql["gap_norm"], dtype=float), norm, equal_nan=True)
    assert np.array_equal(sql["status"].astype(np.int8), status)
    assert np.array_equal(sql["adequate"], used)
