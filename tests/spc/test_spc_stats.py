"""Mergeable statistics (property tests) and the bias-correction constants."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gapwatch.stats import Moments, Proportion, c4, d2, d3

values = st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=0, max_size=30)


@settings(max_examples=60, deadline=None)
@given(values, values)
def test_merge_equals_sequential(a: list[float], b: list[float]) -> None:
    left = Moments.empty(1).update(np.array([a or [math.nan]]))
    right = Moments.empty(1).update(np.array([b or [math.nan]]))
    both = Moments.empty(1).update(np.array([(a + b) or [math.nan]]))
    merged = left.merge(right)
    assert merged.n[0] == both.n[0]
    assert np.allclose(merged.mean, both.mean, atol=1e-9)
    assert np.allclose(merged.m2, both.m2, rtol=1e-7, atol=1e-6)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-100, 100, allow_nan=False), min_size=2, max_size=30))
def test_from_sums_equals_update(xs: list[float]) -> None:
    arr = np.array(xs)
    from_sums = Moments.from_sums([len(xs)], [arr.sum()], [(arr * arr).sum()])
    direct = Moments.of([xs])
    assert np.allclose(from_sums.var(), direct.var(), rtol=1e-6, atol=1e-6)
    assert np.allclose(direct.var(), [np.var(arr, ddof=1)], rtol=1e-9, atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 50), st.integers(50, 100)), min_size=1, max_size=20))
def test_proportion_merge(pairs: list[tuple[int, int]]) -> None:
    half = len(pairs) // 2
    a, b = pairs[:half], pairs[half:]
    pa = Proportion.empty(1).update([[x for x, _ in a] or [0]], [[n for _, n in a] or [0]])
    pb = Proportion.empty(1).update([[x for x, _ in b]], [[n for _, n in b]])
    assert pa.merge(pb).p[0] == sum(x for x, _ in pairs) / sum(n for _, n in pairs)


def test_constants_exact_and_table() -> None:
    assert d2(2) == pytest.approx(2 / math.sqrt(math.pi), abs=1e-10)
    assert d3(2) == pytest.approx(math.sqrt(2 - 4 / math.pi), abs=1e-10)
    assert round(d2(5), 6) == 2.325929 and d2(5, "table") == 2.326
    assert d3(5, "table") == 0.8640855 and round(d3(5), 6) == 0.864082
    assert round(c4(5), 6) == 0.939986 and c4(5, "table") == 0.9400
    assert round(d2(10), 4) == 3.0775 and round(d3(10), 4) == 0.7971
