"""Benchmark: every chart and rule over 1,000 streams × 365 days, against a per-stream loop.

    .venv/bin/python bench/spc.py [--streams 1000] [--days 365] [--sample 20] [--seed 1] [--repeat 7]

gapwatch computes each chart for all streams at once (numpy over streams × periods); the
whole set is timed ``--repeat`` times and the median and minimum reported (the machine may
be shared: the minimum is the least disturbed run, the median the typical one).  The
baseline is the `shewhart` package (0.1.1, PyPI; the `dev` extra), called once per stream, on
a sample of streams and extrapolated to all of them.  Where both compute the same chart the
flags are compared point by point: points beyond the limits (p, np, Laney p′, c, u, I and MR,
X̄ and R, X̄ and S), EWMA and CUSUM signals.  Nelson run rules are compared by convention:
shewhart lists every point of a pattern, gapwatch the point completing it (qcc's convention),
so each gapwatch flag must lie in a shewhart pattern and each shewhart pattern must end on a
gapwatch flag (rules 2-4 on attribute charts, where shewhart applies no zone tests; 2-8 on I and X̄).
Nelson 8 is listed apart: gapwatch reads it literally (8 in a row beyond 1σ with points on both
sides), shewhart also flags 8 in a row beyond 1σ on one side, so its extra patterns are expected.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from gapwatch.detectors import EWMA, CChart, NPChart, PChart, UChart
from gapwatch.detectors.bcusum import BernoulliCUSUM
from gapwatch.detectors.cusum import CUSUM
from gapwatch.detectors.gchart import GChart
from gapwatch.detectors.imr import IMRChart
from gapwatch.detectors.runchart import RunChart
from gapwatch.detectors.xbar import XbarChart


def make_data(streams: int, days: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(80, 160, size=(streams, days)).astype(float)
    rate = np.clip(0.08 + 0.01 * rng.standard_normal((streams, 1)), 0.02, 0.3)
    shift = np.zeros((streams, days))
    shift[: streams // 2, days * 3 // 4 :] = 0.03  # half the streams worsen in the last quarter
    counts = rng.binomial(sizes.astype(int), np.clip(rate + shift, 0, 1)).astype(float)
    values = rng.standard_normal((streams, days)) + (shift > 0) * 0.8
    raw = rng.standard_normal((streams, days, 5)) + (shift > 0)[:, :, None] * 0.8
    counts_np = rng.binomial(120, np.clip(rate + shift, 0, 1)).astype(float)  # np: constant n (shewhart)
    events = (rng.random((streams, days)) < 0.05 + 2 * shift).astype(float)
    gaps = rng.geometric(0.05, size=(streams, days)).astype(float) - 1
    return {
        "sizes": sizes,
        "counts": counts,
        "values": values,
        "means": raw.mean(axis=2),
        "ranges": np.ptp(raw, axis=2),
        "sds": raw.std(axis=2, ddof=1),
        "raw": raw,
        "events": events,
        "gaps": gaps,
        "counts_np": counts_np,
    }


def gapwatch_charts(d: dict[str, np.ndarray], phase1: int) -> dict[str, Any]:
    n5 = np.full(d["means"].shape, 5.0)
    return {
        "p": PChart(rules="nelson").fit_judge(d["counts"], d["sizes"], baseline=phase1),
        "np": NPChart(rules="nelson").fit_judge(
            d["counts_np"], np.full(d["sizes"].shape, 120.0), baseline=phase1
        ),
        "pprime": PChart(laney=True, rules="nelson").fit_judge(d["counts"], d["sizes"], baseline=phase1),
        "c": CChart(rules="nelson").fit_judge(d["counts"], baseline=phase1),
        "u": UChart(rules="nelson").fit_judge(d["counts"], d["sizes"], baseline=phase1),
        "uprime": UChart(laney=True, rules="nelson").fit_judge(d["counts"], d["sizes"], baseline=phase1),
        "imr": IMRChart(rules="nelson").fit_judge(d["values"], baseline=phase1),
        "xbar-r": XbarChart("R", rules="nelson").fit_judge(d["means"], n5, d["ranges"], baseline=phase1),
        "xbar-s": XbarChart("S", rules="nelson").fit_judge(d["means"], n5, d["sds"], baseline=phase1),
        "ewma": EWMA(lam=0.2, L=3.0).fit_judge(d["values"], target=0.0, sigma=1.0),
        "cusum": CUSUM(k=0.5, h=4.0).fit_judge(d["values"], target=0.0, sigma=1.0),
        "run": RunChart().fit_judge(d["values"], baseline=phase1),
        "bcusum": BernoulliCUSUM(p0=0.05, h=3.0).fit_judge(d["events"]),
        "g": GChart().fit_judge(d["gaps"], baseline=phase1),
    }


def shewhart_charts(d: dict[str, np.ndarray], i: int, phase1: int) -> dict[str, Any]:
    import pandas as pd
    import shewhart

    att = pd.DataFrame({"d": d["counts"][i], "n": d["sizes"][i]})
    val = pd.DataFrame({"x": d["values"][i]})
    raw = d["raw"][i]
    sub = pd.DataFrame({"v": raw.ravel(), "g": np.repeat(np.arange(raw.shape[0]), raw.shape[1])})
    return {
        "p": shewhart.p_chart(att, defectives="d", size="n"),
        "np": shewhart.np_chart(pd.DataFrame({"d": d["counts_np"][i], "n": 120.0}), defectives="d", size="n"),
        "pprime": shewhart.laney_p(att, defectives="d", size="n"),
        "c": shewhart.c_chart(att, defects="d"),
        "u": shewhart.u_chart(att, defects="d", size="n"),
        "uprime": shewhart.laney_u(att, defects="d", size="n"),
        "imr": shewhart.imr(val, value="x"),
        "xbar-r": shewhart.xbar_r(sub, value="v", subgroup="g"),
        "xbar-s": shewhart.xbar_s(sub, value="v", subgroup="g"),
        "ewma": shewhart.ewma(val, value="x", lam=0.2, k=3.0, center=0.0, sigma=1.0),
        "cusum": shewhart.cusum(val, value="x", k=0.5, h=4.0, center=0.0, sigma=1.0),
        "run": shewhart.run_chart(val, value="x"),
    }


def _points(res: Any, rule: str, chart: str | None = None) -> list[tuple[int, ...]]:
    return [tuple(s.points) for s in res.signals if s.rule == rule and (chart is None or s.chart == chart)]


SHEWHART_PLOT = {
    "p": "attr",
    "np": "attr",
    "pprime": "attr",
    "c": "attr",
    "u": "attr",
    "uprime": "attr",
    "imr": "i",
    "xbar-r": "xbar",
    "xbar-s": "xbar",
}


def compare(ours: dict[str, Any], theirs: dict[str, Any], i: int) -> dict[str, tuple[int, int]]:
    """Per comparison: (points compared, points that differ)."""
    out: dict[str, tuple[int, int]] = {}

    def add(name: str, n: int, bad: int) -> None:
        a, b = out.get(name, (0, 0))
        out[name] = (a + n, b + bad)

    def same(name: str, mine: np.ndarray, other: np.ndarray) -> None:
        add(name, mine.size, int((mine != other).sum()))

    for name, plot in SHEWHART_PLOT.items():
        mine = ours[name].signals["nelson1"][i]
        other = np.zeros_like(mine)
        for pts in _points(theirs[name], "nelson_1", plot):
            other[list(pts)] = True
        same(f"{name} beyond limits (nelson1)", mine, other)
        # shewhart applies the zone tests (Nelson 5-8) to variables charts only
        for k in range(2, 9) if plot != "attr" else range(2, 5):  # completion vs pattern points
            flagged = set(np.flatnonzero(ours[name].signals[f"nelson{k}"][i]).tolist())
            patterns = _points(theirs[name], f"nelson_{k}", plot)
            covered = set().union(*map(set, patterns)) if patterns else set()
            ends = {max(p) for p in patterns}
            add(
                "nelson8 (literal vs one-sided)" if k == 8 else "nelson2-4 attr., 2-7 var. (mapped)",
                len(flagged | ends),
                len(flagged - covered) + len(ends - flagged),
            )
    imr = theirs["imr"].to_frame()
    same("MR beyond limits", ours["imr"].dispersion.signals["we1"][i], imr["mr_signal"].to_numpy(bool))
    for name, col in (("xbar-r", "range_signal"), ("xbar-s", "stdev_signal")):
        frame = theirs[name].to_frame()
        same(
            f"{name} spread beyond limits", ours[name].dispersion.signals["we1"][i], frame[col].to_numpy(bool)
        )
    same("ewma signals", ours["ewma"].signals["ewma"][i], theirs["ewma"].to_frame()["signal"].to_numpy(bool))
    cus = ours["cusum"].signals
    same(
        "cusum signals",
        cus["cusum-upper"][i] | cus["cusum-lower"][i],
        theirs["cusum"].to_frame()["signal"].to_numpy(bool),
    )
    return out


def timed(fn: Callable[[], Any], repeat: int) -> tuple[list[float], Any]:
    """Wall times of ``repeat`` runs (after one warm-up run) and the last result."""
    res = fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        res = fn()
        times.append(time.perf_counter() - t)
    return times, res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--streams", type=int, default=1000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--sample", type=int, default=20, help="streams run through shewhart")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=7, help="timed runs of the gapwatch charts")
    args = ap.parse_args()
    d = make_data(args.streams, args.days, args.seed)
    phase1 = args.days  # limits from every point, as shewhart fits them
    times, ours = timed(lambda: gapwatch_charts(d, phase1), args.repeat)
    gw_time, gw_min = statistics.median(times), min(times)
    print(
        f"gapwatch: 14 charts (p np p′ c u u′ I-MR X̄-R X̄-S EWMA CUSUM run Bernoulli-CUSUM g), Nelson 1-8 "
        f"on the Shewhart charts, {args.streams} streams × {args.days} days: median {gw_time:.3f} s, "
        f"min {gw_min:.3f} s over {len(times)} runs"
    )
    try:
        import shewhart
    except ImportError:
        print("shewhart not installed (pip install -e '.[dev]'): no comparison")
        return
    sample = np.linspace(0, args.streams - 1, args.sample).astype(int)
    shewhart_charts(d, 0, phase1)  # warm-up (imports)
    t = time.perf_counter()
    theirs = [shewhart_charts(d, int(i), phase1) for i in sample]
    per_stream = (time.perf_counter() - t) / len(sample)
    loop_time = per_stream * args.streams
    print(
        f"shewhart {getattr(shewhart, '__version__', '0.1.1')}: 12 charts per stream "
        f"in a loop: {per_stream * 1000:.1f} ms/stream on {len(sample)} streams, "
        f"extrapolated to {args.streams}: {loop_time:.1f} s"
    )
    print(
        f"speed-up: {loop_time / gw_time:.0f}× on the median ({loop_time / gw_min:.0f}× on the min)  "
        f"(goal ≥ 200×, gapwatch < 0.1 s)"
    )
    totals: dict[str, tuple[int, int]] = {}
    for i, th in zip(sample, theirs, strict=True):
        for k, (n, bad) in compare(ours, th, int(i)).items():
            a, b = totals.get(k, (0, 0))
            totals[k] = (a + n, b + bad)
    print("flags compared on the sampled streams (points, differences):")
    for k, (n, bad) in totals.items():
        verdict = "identical" if bad == 0 else "DIFFER"
        if k.startswith("nelson8") and bad:  # shewhart also flags 8 beyond 1σ on one side
            verdict = "differ by convention: one-sided runs beyond 1σ (see docs/spc.md)"
        print(f"  {k:<34} {n:>7} {bad:>4}  {verdict}")


if __name__ == "__main__":
    main()
