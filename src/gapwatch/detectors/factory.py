"""Build a configured chart from a chart-type name and typed parameters (one stream)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from gapwatch.detectors.attribute import AttributeChart
from gapwatch.detectors.base import ChartResult, FloatArray
from gapwatch.detectors.bcusum import BernoulliCUSUM
from gapwatch.detectors.cusum import CUSUM
from gapwatch.detectors.ewma import EWMA
from gapwatch.detectors.gchart import GChart
from gapwatch.detectors.imr import IMRChart
from gapwatch.detectors.pchart import NPChart, PChart
from gapwatch.detectors.runchart import RunChart
from gapwatch.detectors.uchart import CChart, UChart
from gapwatch.detectors.xbar import XbarChart

__all__ = ["build_chart", "subgroup_stats"]

ATTRIBUTE: dict[str, type[AttributeChart]] = {
    "p": PChart,
    "pprime": PChart,
    "np": NPChart,
    "c": CChart,
    "u": UChart,
    "uprime": UChart,
}


def subgroup_stats(value: FloatArray, labels: Sequence[str]) -> tuple[FloatArray, ...]:
    """Means, sizes, ranges and SDs of subgroups labelled in file order."""
    order: dict[str, list[float]] = {}
    for v, g in zip(value, labels, strict=True):
        order.setdefault(str(g), []).append(float(v))
    groups = list(order.values())
    means = np.array([math.fsum(g) / len(g) for g in groups])
    sizes = np.array([len(g) for g in groups], dtype=float)
    ranges = np.array([max(g) - min(g) for g in groups])
    sds = np.array([float(np.std(g, ddof=1)) if len(g) > 1 else math.nan for g in groups])
    return means, sizes, ranges, sds


def _need(npoints: int, p: dict[str, Any], need: int, what: str = "points") -> None:
    base = p.get("phase1")
    have = npoints if base is None else min(int(base), npoints)
    have -= len({i for i in p.get("exclude", []) if 0 <= i < have})
    if have < need:
        raise ValueError(
            f"too few {what} for the chart: {max(have, 0)} in the baseline, need at least {need}"
        )


def _laney(chart: str, p: dict[str, Any]) -> bool | Literal["auto"]:
    if chart in ("pprime", "uprime"):
        return True
    text = str(p.get("laney", "false")).lower()
    return "auto" if text == "auto" else text in ("true", "1", "yes")


def build_chart(
    chart: str, x: FloatArray, n: FloatArray | None, labels: Sequence[str] | None, p: dict[str, Any]
) -> ChartResult:
    """Fit on the baseline and judge every point of one stream."""
    if p.get("exclude") and any(i < 0 or i >= len(x) for i in p["exclude"]):
        raise ValueError(f"exclude: index out of range 0..{len(x) - 1}")
    common = {"baseline": p.get("phase1"), "exclude": p.get("exclude")}
    rules = p.get("rules", ("we1",))
    cons = p.get("constants", "exact")
    mr = p.get("mr", "plain")
    L = p.get("L", 3.0)
    if chart in ATTRIBUTE:
        if chart != "c" and n is not None and np.any(n <= 0):
            raise ValueError("column size: sizes must be positive")
        if np.any(x < 0):
            raise ValueError("column value: negative count")
        if chart in ("p", "np", "pprime") and n is not None and np.any(x > n):
            raise ValueError("column value: count above size")
        _need(len(x), p, 3 if _laney(chart, p) else 1)
        cls = ATTRIBUTE[chart]
        att = cls(
            L=L, laney=_laney(chart, p), rules=rules, revise=p.get("revise", False), mr=mr, constants=cons
        )
        return att.fit_judge(x, n, **common)
    if chart == "imr":
        _need(len(x), p, 2)
        imr = IMRChart(L=L, rules=rules, revise=p.get("revise", False), mr=mr, constants=cons)
        return imr.fit_judge(x, target=p.get("target"), sigma=p.get("sigma"), **common)
    if chart in ("xbar-r", "xbar-s"):
        assert labels is not None
        means, sizes, ranges, sds = subgroup_stats(x, labels)
        if np.any(sizes < 2):
            raise ValueError("subgroup: every subgroup needs at least 2 values")
        _need(len(means), p, 2, "subgroups")
        disp: Literal["R", "S"] = "R" if chart == "xbar-r" else "S"
        xb = XbarChart(disp, L=L, rules=rules, revise=p.get("revise", False), constants=cons)
        spread = ranges if disp == "R" else sds
        return xb.fit_judge(means, sizes, spread, target=p.get("target"), sigma=p.get("sigma"), **common)
    if chart in ("ewma", "cusum"):
        known = "target" in p and "sigma" in p
        _need(len(x), p, 1 if known else 2)
        if chart == "ewma":
            limits = p.get("limits", "exact")
            if limits not in ("exact", "asymptotic"):
                raise ValueError("parameter limits must be exact or asymptotic for ewma")
            ew = EWMA(lam=p.get("lambda", 0.2), L=L, limits=limits, mr=mr, constants=cons)
            return ew.fit_judge(x, n, target=p.get("target"), sigma=p.get("sigma"), **common)
        cu = CUSUM(k=p.get("k", 0.5), h=p.get("h", 5.0), fir=p.get("fir", 0.0), mr=mr, constants=cons)
        return cu.fit_judge(x, n, target=p.get("target"), sigma=p.get("sigma"), **common)
    if chart == "run":
        _need(len(x), p, 1)
        return RunChart().fit_judge(x, **common)
    if chart == "bcusum":
        if np.any((x != 0) & (x != 1)):
            raise ValueError("column value: bcusum needs 0 or 1 per event")
        _need(len(x), p, 1)
        bc = BernoulliCUSUM(
            p0=p.get("p0"), odds_ratio=p.get("odds_ratio", 2.0), h=p.get("h"), arl0=p.get("arl0", 2000.0)
        )
        return bc.fit_judge(x, **common)
    if np.any(x < 0):
        raise ValueError("column value: g values must not be negative")
    _need(len(x), p, 1)
    limits = p.get("limits", "sigma")
    if limits not in ("sigma", "probability"):
        raise ValueError("parameter limits must be sigma or probability for g")
    return GChart(L=L, limits=limits).fit_judge(x, **common)
