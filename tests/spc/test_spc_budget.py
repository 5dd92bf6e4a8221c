"""False-alarm budget, Benjamini-Hochberg, method choice, nested streams, real false-alarm rates."""

from __future__ import annotations

import numpy as np
import pytest

from gapwatch.detectors import PChart
from gapwatch.detectors.budget import (
    benjamini_hochberg,
    cusum_arl,
    ewma_arl,
    limits_for_budget,
    point_pvalues,
    shewhart_arl,
)
from gapwatch.detectors.choose import choose_method, explain_by_children
from gapwatch.detectors.evaluate import evaluate_attribute


@pytest.mark.parametrize("streams", [1, 50, 1000])
def test_shewhart_budget_meets_the_weekly_rate(streams: int) -> None:
    b = limits_for_budget(streams, periods_per_week=7, alarms_per_week=1.0)
    assert b.L is not None
    weekly = streams * 7 / shewhart_arl(b.L)
    assert weekly == pytest.approx(1.0, rel=1e-6)


def test_ewma_and_cusum_budgets_hit_their_arl0() -> None:
    e = limits_for_budget(200, chart="ewma", lam=0.2)
    c = limits_for_budget(200, chart="cusum", k=0.5)
    assert e.L is not None and c.h is not None
    assert ewma_arl(0.2, e.L) == pytest.approx(1400, rel=0.01)
    assert cusum_arl(0.5, c.h) == pytest.approx(1400, rel=0.01)
    assert cusum_arl(0.5, 4.0) == pytest.approx(167.68, rel=2e-3)  # arl.json, spc::xcusum.arl


def test_budget_on_simulated_in_control_streams() -> None:
    rng = np.random.default_rng(0)
    streams, weeks = 500, 20
    b = limits_for_budget(streams)
    x = rng.standard_normal((streams, 7 * weeks))
    alarms = (np.abs(x) > b.L).sum() / weeks
    assert 0.3 < alarms < 2.2  # about one a week (Poisson noise on 20 weeks)


def test_benjamini_hochberg_matches_hand_computation() -> None:
    p = np.array([[0.001, 0.5], [0.02, 0.04], [0.03, np.nan], [0.9, 0.01]])
    np.testing.assert_array_equal(
        benjamini_hochberg(p, 0.05), [[True, False], [True, False], [True, False], [False, True]]
    )


def test_point_pvalues_of_a_p_chart() -> None:
    res = PChart().fit_judge([[5, 5, 5, 5, 5, 15]], [[100] * 6], baseline=5)
    pv = point_pvalues(res)
    assert pv[0, 0] == pytest.approx(1.0) and pv[0, 5] < 1e-5


def test_method_choice_by_volume() -> None:
    assert choose_method("rate", 1000, 0.03).period == "day"
    assert choose_method("rate", 30, 0.03).period == "week"
    thin = choose_method("rate", 4, 0.03)
    assert thin.method == "bcusum" and "too thin" in thin.reason
    assert choose_method("gap", 2).period == "week"
    assert choose_method("gap", 0.2).method == "ewma-individual"
    assert "override" in choose_method("rate", 5, 0.1, override="p").reason


def test_explain_by_children_ranks_the_culprit_first() -> None:
    counts = np.array([[5, 6], [4, 30], [5, 5]], dtype=float)
    sizes = np.full((3, 2), 100.0)
    parts = explain_by_children(counts, sizes, [0.05, 0.05, 0.05], period=1)
    assert parts[0].child == 1 and parts[0].share > 0.9 and parts[0].z > 5


def test_real_false_alarm_rate_of_thin_p_charts_is_far_above_nominal() -> None:
    thin = evaluate_attribute(0.02, 20, streams=500, periods=200, seed=1)
    thick = evaluate_attribute(0.1, 1000, streams=500, periods=200, seed=1)
    assert thin.false_alarms_per_1000 > 3 * thin.nominal_per_1000
    assert thick.false_alarms_per_1000 < 2 * thick.nominal_per_1000
