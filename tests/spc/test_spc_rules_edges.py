"""Run rules at their edges, against a plain per-point oracle.

Conventions under test (see ``gapwatch.detectors.rules``): a run rule flags the point
completing its pattern and every later point of the same run; a zone rule flags only
points themselves beyond the zone; a tie breaks a trend and an alternation; a point on the
centre line breaks a side run and lies within zone C; limits and zones compare strictly;
a missing period is skipped (it neither breaks nor extends a run), a late start being the
special case of leading missing periods; a point with no centre line is not plotted.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import pytest

from gapwatch.detectors import NPChart, PChart
from gapwatch.detectors import rules as rules_module
from gapwatch.detectors.rules import RULES, RuleBuffer, evaluate_rules

Oracle = Callable[[list[float], list[float]], list[bool]]


# ------------------------------------------------------------------ a plain oracle
def _run_back(ok: list[bool], i: int) -> int:
    """Number of consecutive True in ``ok`` ending at ``i``."""
    n = 0
    while i - n >= 0 and ok[i - n]:
        n += 1
    return n


def _zone(k: float, need: int, of: int) -> Oracle:
    def rule(x: list[float], z: list[float]) -> list[bool]:
        out = []
        for i, zi in enumerate(z):
            window = z[max(0, i - of + 1) : i + 1]
            up = zi > k and sum(v > k for v in window) >= need
            down = zi < -k and sum(v < -k for v in window) >= need
            out.append(up or down)
        return out

    return rule


def _side(n: int) -> Oracle:
    def rule(x: list[float], z: list[float]) -> list[bool]:
        above, below = [v > 0 for v in z], [v < 0 for v in z]
        return [_run_back(above, i) >= n or _run_back(below, i) >= n for i in range(len(z))]

    return rule


def _trend(x: list[float], z: list[float]) -> list[bool]:
    up = [False] + [b > a for a, b in itertools.pairwise(x)]
    down = [False] + [b < a for a, b in itertools.pairwise(x)]
    return [_run_back(up, i) >= 5 or _run_back(down, i) >= 5 for i in range(len(x))]


def _alternating(x: list[float], z: list[float]) -> list[bool]:
    step = [0.0] + [float(np.sign(b - a)) for a, b in itertools.pairwise(x)]
    alt = [False, False] + [step[i] != 0 and step[i] == -step[i - 1] for i in range(2, len(x))]
    return [_run_back(alt, i) >= 12 for i in range(len(x))]


def _within(x: list[float], z: list[float]) -> list[bool]:
    inside = [abs(v) < 1 for v in z]
    return [_run_back(inside, i) >= 15 for i in range(len(z))]


def _mixture(x: list[float], z: list[float]) -> list[bool]:
    beyond = [abs(v) > 1 for v in z]
    out = []
    for i in range(len(z)):
        run = _run_back(beyond, i)
        seen = z[i - run + 1 : i + 1] if run else []
        out.append(run >= 8 and any(v > 1 for v in seen) and any(v < -1 for v in seen))
    return out


ORACLE: dict[str, Oracle] = {
    "we1": lambda x, z: [abs(v) > 3 for v in z],
    "we2": _zone(2, 2, 3),
    "we3": _zone(1, 4, 5),
    "we4": _side(8),
    "nelson2": _side(9),
    "nelson3": _trend,
    "nelson4": _alternating,
    "nelson7": _within,
    "nelson8": _mixture,
}
ORACLE.update({"nelson1": ORACLE["we1"], "nelson5": ORACLE["we2"], "nelson6": ORACLE["we3"]})


def oracle_flags(x: np.ndarray, rule: str) -> np.ndarray:
    """Flags of one rule, stream by stream, over the plotted points only (centre 0, sigma 1)."""
    out = np.zeros(x.shape, dtype=bool)
    for s, row in enumerate(x):
        idx = np.flatnonzero(~np.isnan(row))
        pts = row[idx].tolist()
        out[s, idx] = ORACLE[rule](pts, pts)
    return out


def judge(x: np.ndarray, rules: tuple[str, ...] | list[str]) -> dict[str, np.ndarray]:
    """Rules on points already in sigma units: centre 0, sigma 1, limits ±3."""
    zero = np.zeros_like(x)
    return evaluate_rules(x, zero, zero + 1, zero - 3, zero + 3, rules)


def flags(x: list[float] | np.ndarray, rule: str) -> list[int]:
    out = judge(np.atleast_2d(np.asarray(x, dtype=float)), [rule])
    return np.flatnonzero(out[rule][0]).tolist()


def patterned_streams(seed: int, s: int = 530, t: int = 140) -> np.ndarray:
    """Streams rich in every pattern: ties, centre-line points, exact 1σ/2σ/3σ values,
    trends, alternations, long runs beyond 1σ switching sides, gaps and late starts."""
    rng = np.random.default_rng(seed)
    kind = rng.integers(0, 5, size=(s, 1))
    noise = np.round(rng.normal(0.2, 1.2, size=(s, t)) * 2) / 2  # ties, 0, ±1, ±2, ±3 exactly
    trend = np.cumsum(rng.choice([-1.0, 0.0, 1.0, 1.0, 1.0], size=(s, t)), axis=1) / 10
    alternate = np.where(np.arange(t) % 2 == 0, 0.5, -0.5) + np.round(rng.normal(0, 0.3, (s, t)), 1)
    sides = np.where(rng.random((s, t)) < 0.2, -1.0, 1.0) * rng.choice([1.5, 2.5, 1.0, 0.5], size=(s, t))
    stable = np.round(rng.normal(0, 0.4, size=(s, t)), 1)
    x = np.choose(kind, [noise, trend, alternate, sides, stable])
    x[rng.random((s, t)) < 0.08] = np.nan  # gaps
    late = rng.random(s) < 0.2
    starts = rng.integers(1, t // 2, size=s)
    x[late[:, None] & (np.arange(t)[None, :] < starts[:, None])] = np.nan  # late starts
    return np.asarray(x, dtype=float)


# ------------------------------------------------------------------ the oracle, in bulk
@pytest.mark.parametrize("seed", [1, 2])
def test_every_rule_matches_the_oracle_on_patterned_streams(seed: int) -> None:
    x = patterned_streams(seed)
    got = judge(x, RULES)
    for rule in RULES:
        want = oracle_flags(x, rule)
        assert want.any(), f"{rule}: the data should exercise the rule"
        np.testing.assert_array_equal(got[rule], want, err_msg=rule)


def test_blocks_and_streams_do_not_leak(monkeypatch: pytest.MonkeyPatch) -> None:
    x = patterned_streams(3, s=60, t=50)
    whole = judge(x, RULES)
    monkeypatch.setattr(rules_module, "BLOCK", 7)
    blocked = judge(x, RULES)
    for rule in RULES:
        np.testing.assert_array_equal(blocked[rule], whole[rule], err_msg=rule)
        for s in (0, 6, 7, 59):  # a stream alone gives its own flags
            alone = judge(x[s : s + 1], [rule])[rule][0]
            np.testing.assert_array_equal(alone, whole[rule][s], err_msg=f"{rule}, stream {s}")
    # a run at the end of one stream does not continue into the next stream
    two = np.array([[-0.5] * 3 + [0.5] * 7, [0.5] * 2 + [-0.5] * 8])
    assert not judge(two, ["we4"])["we4"][1, :3].any()


def test_live_updates_equal_the_batch_on_patterned_streams() -> None:
    x = patterned_streams(4, s=40, t=140)
    batch = judge(x, RULES)
    live = push_all(RuleBuffer(x.shape[0], RULES, width=16), x)  # narrower than the runs in the data
    for rule in RULES:
        np.testing.assert_array_equal(live[rule], batch[rule], err_msg=rule)


def push_all(buf: RuleBuffer, x: np.ndarray) -> dict[str, np.ndarray]:
    """Flags of ``x`` (sigma units) pushed one period at a time."""
    zero = np.zeros(x.shape[0])
    cols = [buf.push(x[:, j], zero, zero + 1, zero - 3, zero + 3) for j in range(x.shape[1])]
    return {rule: np.stack([c[rule] for c in cols], axis=1) for rule in buf.rules}


# ------------------------------------------------------------------ the conventions, one by one
def test_a_tie_inside_a_trend_breaks_it_and_the_tied_point_starts_the_next() -> None:
    assert flags([1, 2, 3, 3, 4, 5, 6, 7], "nelson3") == []  # 3 3 4 5 6 7: five steps, one tie
    assert flags([1, 2, 3, 3, 4, 5, 6, 7, 8], "nelson3") == [8]  # 3 4 5 6 7 8 from the tied point
    assert flags([5, 4, 3, 3, 2, 1, 0, -1], "nelson3") == []
    assert flags([5, 4, 3, 3, 2, 1, 0, -1, -2, -3], "nelson3") == [8, 9]  # and the later points
    x = [(-1) ** i * 0.5 for i in range(20)]
    x[9] = x[8]  # ties (steps 8-9 and 9-10) in an alternation: 14 points needed from 10 on
    assert flags(x, "nelson4") == []
    assert flags([*x, 0.5, -0.5, 0.5, -0.5], "nelson4") == [23]


def test_a_point_on_the_centre_line() -> None:
    x = [0.4] * 4 + [0.0] + [0.4] * 8
    assert flags(x, "we4") == [12]  # breaks the side run: 8 in a row again only at 12
    assert flags([0.4] * 8 + [0.0] + [0.4], "we4") == [7]  # a completed run ends at the centre
    assert flags([0.0] * 15, "nelson7") == [14]  # lies within zone C
    mixed = [1.5, -1.5] * 3 + [0.0] + [1.5, -1.5] * 4
    assert flags(mixed, "nelson8") == [14]  # within zone C: breaks the run beyond 1 sigma
    assert flags([0.0, 1.0, 2.0, 3.0, 4.0, 5.0], "nelson3") == [5]  # a trend through the centre
    assert flags([0.0, 2.5, 2.5], "we2") == [2]  # the centre point is in no zone


def test_limits_and_zones_compare_strictly() -> None:
    assert flags([3.0, -3.0, 3.000001], "we1") == [2]
    assert flags([2.0, 2.0, 2.0], "we2") == []  # exactly 2 sigma is not beyond
    assert flags([1.0] * 5, "we3") == []
    assert flags([0.5, -0.5] * 7 + [0.5, 1.0], "nelson7") == [14]  # exactly 1 sigma is not within ...
    assert flags([1.0, -1.0] * 4, "nelson8") == []  # ... nor beyond


def test_zone_rules_flag_only_points_beyond_the_zone() -> None:
    assert flags([1.5, 1.5, 1.5, 1.5, 0.5], "we3") == [3]  # the 5th point is within 1 sigma
    assert flags([1.5, 1.5, 0.5, 1.5, 1.5], "we3") == [4]
    assert flags([2.5, 0.5, 0.5, 2.5], "we2") == []  # 2 of 4 is no pattern
    assert flags([2.5, -2.5, 2.5], "we2") == [2]  # 2 of 3 above, the middle one below


@pytest.mark.parametrize(
    ("rule", "x", "want"),
    [
        ("we4", [0.4, 0.4, np.nan, 0.4, 0.4, 0.4, np.nan, np.nan, 0.4, 0.4, 0.4, -0.4], [10]),
        ("nelson2", [0.4] * 4 + [np.nan] + [0.4] * 6, [9, 10]),
        ("nelson3", [1, 2, np.nan, 3, 4, np.nan, 5, 6], [7]),
        ("nelson4", [0.5, -0.5] * 3 + [np.nan] + [0.5, -0.5] * 4, [14]),
        ("nelson7", [0.1] * 7 + [np.nan] * 3 + [0.1] * 9, [17, 18]),
        ("nelson8", [1.5, -1.5, 1.5, np.nan, 1.5, -1.5, 1.5, 1.5, 1.5, 1.5], [8, 9]),
        ("we2", [2.5, np.nan, np.nan, 0.0, 2.5], [4]),  # 2 of the last 3 plotted points
        ("we3", [1.5, np.nan, 1.5, 1.5, np.nan, 0.5, 1.5], [6]),
    ],
)
def test_a_missing_period_is_skipped(rule: str, x: list[float], want: list[int]) -> None:
    assert flags(x, rule) == want
    plotted = [v for v in x if not np.isnan(v)]
    at = np.flatnonzero(~np.isnan(np.asarray(x, dtype=float)))
    assert [int(at[i]) for i in flags(plotted, rule)] == want  # the same as without the gaps


def test_a_late_start_judges_the_stream_from_its_first_point() -> None:
    late = np.full((2, 30), np.nan)
    late[0, :] = [0.5, -0.5] * 15
    late[1, 12:] = late[0, :18]
    out = judge(late, ["nelson4", "we4"])
    assert np.flatnonzero(out["nelson4"][1]).tolist() == [i + 12 for i in range(13, 18)]
    assert not out["we4"].any()


def test_a_stream_without_a_centre_line_gets_no_signals() -> None:
    x = np.array([[1.0, 2, 3, 4, 5, 6, 7, 8, 9, 10]] * 2)
    center = np.zeros_like(x)
    center[1] = np.nan  # no baseline: no centre line, no limits
    out = evaluate_rules(x, center, np.ones_like(x), center - 3, center + 3, RULES)
    assert out["nelson3"][0].any() and not any(out[r][1].any() for r in RULES)


def test_a_late_stream_without_baseline_points_is_not_judged() -> None:
    rng = np.random.default_rng(5)
    sizes = np.full((2, 80), 200.0)
    counts = rng.binomial(200, 0.1, size=(2, 80)).astype(float)
    counts[1, :50] = np.nan  # starts after the 40-period baseline
    counts[1, 60:70] = np.arange(10, 30, 2)  # a clear trend, but no limits to judge it by
    res = PChart(rules="nelson").fit_judge(counts, sizes, baseline=40)
    assert np.isnan(res.center[1]).all()
    assert not any(flags[1].any() for flags in res.signals.values())


def test_zone_rules_use_each_points_own_sigma() -> None:
    # p̄ = 0.1 exactly; 0.125 is 2.64 sigma at n = 1000 but 0.83 sigma at n = 100
    base_counts, base_sizes = [10.0] * 20, [100.0] * 20
    for sizes, want in (([1000, 100, 1000], [22]), ([1000, 100, 100], [])):
        counts = base_counts + [0.125 * n for n in sizes]
        res = PChart(rules="we2").fit_judge([counts], [base_sizes + sizes], baseline=20)
        assert res.center[0, 0] == 0.1
        z = (res.statistic[0, 20:] - 0.1) / res.extra["se"][0, 20:]
        np.testing.assert_allclose(z, [0.025 / np.sqrt(0.09 / n) for n in sizes])
        assert np.flatnonzero(res.signals["we2"][0]).tolist() == want


@pytest.mark.parametrize("variable", [True, False])
def test_p_and_np_charts_flag_the_same_points(variable: bool) -> None:
    """Zones and sides are judged in sigma units, the same for a rate and its count; trends
    and alternations follow the plotted statistic, so they agree when n is constant."""
    rng = np.random.default_rng(8)
    sizes = rng.integers(20, 400, size=(40, 120)).astype(float) if variable else np.full((40, 120), 200.0)
    p = np.clip(0.1 + 0.04 * np.sin(np.arange(120) / 9)[None, :] * rng.random((40, 1)), 0.01, 0.5)
    counts = rng.binomial(sizes.astype(int), p).astype(float)
    counts[:, 30] = sizes[:, 30] * 0.1  # exactly on the centre line where p̄ is 0.1
    pc = PChart(rules="we,nelson").fit_judge(counts, sizes, baseline=60)
    npc = NPChart(rules="we,nelson").fit_judge(counts, sizes, baseline=60)
    for rule, got in pc.signals.items():
        if variable and rule in ("nelson3", "nelson4"):
            continue
        np.testing.assert_array_equal(npc.signals[rule], got, err_msg=rule)


def test_np_chart_plots_the_counts_themselves() -> None:
    res = NPChart().fit_judge([1, 5, 6, 2, 1, 3, 4], [49] * 7)
    assert res.statistic[0].tolist() == [1.0, 5.0, 6.0, 2.0, 1.0, 3.0, 4.0]  # not 0.9999999999999999


def test_live_nelson8_keeps_a_run_longer_than_the_buffer() -> None:
    x = np.array([[-1.5] + [1.5] * 100 + [0.0] + [1.5] * 8])
    batch = judge(x, ["nelson8"])["nelson8"]
    assert np.flatnonzero(batch[0]).tolist() == list(range(7, 101))
    np.testing.assert_array_equal(push_all(RuleBuffer(1, ["nelson8"]), x)["nelson8"], batch)


def test_zero_sigma_points_off_the_centre_are_beyond_every_zone() -> None:
    # p̄ = 0 in the baseline: se = 0, the centre is 0 and any miss is beyond every limit
    counts = [[0.0] * 10 + [0.0, 1.0, 1.0, 0.0]]
    res = PChart(rules="we1,we2,we4").fit_judge(counts, [[50.0] * 14], baseline=10)
    assert np.flatnonzero(res.signals["we1"][0]).tolist() == [11, 12]
    assert np.flatnonzero(res.signals["we2"][0]).tolist() == [12]
    assert not res.signals["we4"].any()  # points on the centre line are on neither side
