"""Run rules: Nelson's definitions, the completion-point convention, ties, gaps, presets."""

from __future__ import annotations

import numpy as np
import pytest

from gapwatch.detectors.rules import RuleBuffer, evaluate_rules, parse_rules


def flags(x: list[float], rule: str) -> list[int]:
    arr = np.array([x], dtype=float)
    zeros = np.zeros_like(arr)
    out = evaluate_rules(arr, zeros, np.ones_like(arr), zeros - 3, zeros + 3, [rule])
    return np.flatnonzero(out[rule][0]).tolist()


def test_we4_flags_eighth_and_later_points_of_the_run() -> None:
    x = [-0.5] + [0.4] * 10 + [-0.2]
    assert flags(x, "we4") == [8, 9, 10]


def test_point_on_centre_line_breaks_a_run() -> None:
    x = [0.4] * 5 + [0.0] + [0.4] * 5
    assert flags(x, "we4") == []
    assert flags([0.4] * 9, "nelson2") == [8]


def test_tie_breaks_a_trend() -> None:
    assert flags([1, 2, 3, 4, 5, 6, 7], "nelson3") == [5, 6]
    assert flags([1, 2, 3, 3, 4, 5, 6], "nelson3") == []
    assert flags([7, 6, 5, 4, 3, 2], "nelson3") == [5]


def test_alternating_fourteen() -> None:
    x = [(-1) ** i * 0.5 for i in range(16)]
    assert flags(x, "nelson4") == [13, 14, 15]
    x[7] = x[6]  # a tie breaks the alternation
    assert flags(x, "nelson4") == []


def test_zone_rules_flag_only_points_beyond_the_zone() -> None:
    assert flags([0.0, 2.5, 1.0, 2.2, 0.0], "we2") == [3]
    assert flags([1.5, 1.2, 0.5, 1.1, 1.3, 0.2], "we3") == [4]
    assert flags([-2.5, -2.1, 0.0], "nelson5") == [1]


def test_stratification_and_mixture() -> None:
    assert flags([0.5, -0.5] * 8, "nelson7") == [14, 15]
    assert flags([1.5, -1.5] * 5, "nelson8") == [7, 8, 9]
    assert flags([1.5] * 10, "nelson8") == []  # all on one side: not a mixture


def test_missing_periods_are_skipped_not_breaking_runs() -> None:
    x = [0.4, 0.4, np.nan, 0.4, 0.4, 0.4, np.nan, 0.4, 0.4, 0.4]
    assert flags(x, "we4") == [9]


def test_streams_are_independent() -> None:
    arr = np.array([[0.4] * 9, [-0.4] * 4 + [0.4] * 5])
    zeros = np.zeros_like(arr)
    out = evaluate_rules(arr, zeros, np.ones_like(arr), zeros - 3, zeros + 3, ["we4"])["we4"]
    assert np.flatnonzero(out[0]).tolist() == [7, 8] and not out[1].any()


def test_presets_and_unknown_rules() -> None:
    assert parse_rules("we") == ("we1", "we2", "we3", "we4")
    assert len(parse_rules("nelson")) == 8
    assert parse_rules("none") == ()
    assert parse_rules("we1,nelson3,we1") == ("we1", "nelson3")
    with pytest.raises(ValueError, match="unknown rule"):
        parse_rules("we9")


def test_rule_buffer_equals_batch() -> None:
    rng = np.random.default_rng(4)
    x = rng.normal(0.3, 1.0, size=(50, 120))
    x[rng.random(x.shape) < 0.1] = np.nan
    zeros = np.zeros_like(x)
    names = parse_rules("we,nelson")
    batch = evaluate_rules(x, zeros, np.ones_like(x), zeros - 3, zeros + 3, names)
    buf = RuleBuffer(50, names)
    cols = [buf.push(x[:, j], zeros[:, j], np.ones(50), zeros[:, j] - 3, zeros[:, j] + 3) for j in range(120)]
    for name in names:
        np.testing.assert_array_equal(np.stack([c[name] for c in cols], axis=1), batch[name])
