"""The dot-and-interval chart (report/intervals.py): every estimate drawn where its value is, weak
ones hollow, whiskers named by what they are, and no group label cut off."""

from __future__ import annotations

import re

from gapwatch.report.intervals import Interval, IntervalChart, IntervalGroup, render_intervals


def _chart(label: str, **kw: object) -> IntervalChart:
    groups = [
        IntervalGroup(
            label,
            [Interval(0, 1.0, 0.5, 1.5, True, "▲ widening", "a: +1.00"), Interval(1, -0.2, -0.6, 0.2, False)],
        ),
        IntervalGroup("b", [Interval(0, 0.0, None, None)]),
    ]
    return IntervalChart("gaps", "difference", ["leaders", "employees"], groups, reference=0.0, **kw)  # type: ignore[arg-type]


def test_points_sit_at_their_values_on_a_shared_axis() -> None:
    svg = render_intervals(_chart("a", weak_word="includes 0"))
    plot = svg[svg.index('class="chart iv"') :]  # the legend's keys are markers too
    points = re.findall(r'<(circle|rect) class="(iv-pt[^"]*)" (?:cx|x)="([\d.]+)"', plot)
    assert [p[1] for p in points] == ["iv-pt iv-s0", "iv-pt iv-s1 weak", "iv-pt iv-s0"]
    ref = float(re.search(r'class="iv-ref" x1="([\d.]+)"', svg).group(1))  # type: ignore[union-attr]
    x_one, x_zero = float(points[0][2]), float(points[2][2])
    assert abs(x_zero - ref) < 0.1 and x_one > ref  # 0 on the reference line, +1 right of it
    assert "<title>a: +1.00</title>" in svg and "▲ widening" in svg
    assert svg.count('class="iv-ci iv-s') == 2  # no whisker without an interval
    assert "95 % interval" in svg and "includes 0" in svg


def test_a_range_is_not_called_an_interval() -> None:
    svg = render_intervals(_chart("a", span_word="range over the customers"))
    assert "range over the customers" in svg and "95 % interval" not in svg


def test_long_group_labels_widen_the_margin_or_are_shortened_with_their_full_text_on_hover() -> None:
    def margin(svg: str) -> float:
        return float(re.search(r'class="axis" x1="([\d.]+)"', svg).group(1))  # type: ignore[union-attr]

    short, longer = render_intervals(_chart("a")), render_intervals(_chart("support_ticket (52)"))
    assert margin(longer) > margin(short) and ">support_ticket (52)</text>" in longer
    huge = render_intervals(_chart("x" * 120))
    assert "<title>" + "x" * 120 + "</title>" in huge and "…</text>" in huge


def test_nothing_to_draw_says_so() -> None:
    empty = IntervalChart("gaps", "difference", ["leaders"], [IntervalGroup("a", [])])
    assert "Nothing to draw yet." in render_intervals(empty)
