"""The per-event Bernoulli CUSUM of one stream, recomputed for drawing with the monitor's own steps.

The monitor keeps the signals of a per-event chart but not its trace (one value per experience).
:func:`event_panel` rebuilds the trace of one stream from its moment's experiences with the
monitor's detection (``detect_all``: the stream's own baseline, expected level, phases and
volume-following design) at the workspace's limit multiplier L and weekly rhythm, which are
all a stream's charts take from the rest of the workspace: so the drawn chart is the one that
raised the stored signals. :func:`limit_of_store` computes L and the rhythm from a store when no
live service holds them (a batch report).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import secrets
from typing import Any

import numpy as np

from gapwatch.config.schema import DetectionSection
from gapwatch.monitor.events import ODDS_RATIO
from gapwatch.monitor.expected import Weekday
from gapwatch.monitor.phases import read_phases
from gapwatch.monitor.run import aggregate, detect_all, horizon, workspace_design
from gapwatch.report.figure_model import Mark, Panel, ordinal

__all__ = ["event_panel", "limit_of_store"]

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
EPOCH = dt.date(1970, 1, 1).toordinal()


def limit_of_store(
    reader: Any, detection: DetectionSection
) -> tuple[float, dt.date | None, dt.date | None, Weekday | None]:
    """(L, first day, last day, weekly rhythm) of a store: what the monitor decides for the whole
    workspace, without running the charts."""
    stored = horizon(reader)
    first, last = stored["first_period"], stored["last_period"]
    if first is None:
        return 3.0, None, None, None
    L, weekday = workspace_design(aggregate(reader), detection, first, last)
    return L, first, last, weekday


def _moment_aggregate(con: Any, moment: str, metric: str) -> Any:
    if not (_NAME.match(moment) and _NAME.match(metric)):  # names go into SQL below
        raise ValueError(f"not a stream name: {moment!r}, {metric!r}")
    cur = con.cursor()  # a temporary view lives on its own connection only
    view = f"_gapwatch_figure_{secrets.token_hex(4)}"
    try:
        cur.execute(
            f"CREATE TEMP VIEW {view} AS SELECT * FROM experiences"
            f" WHERE moment = '{moment}' AND metric = '{metric}'"
        )
        return aggregate(cur, view)
    finally:
        cur.close()


def event_panel(
    con: Any,
    key: tuple[str, str, str],
    detection: DetectionSection,
    L: float,
    first: dt.date | None,
    last: dt.date | None,
    *,
    since: dt.date | None = None,
    weekday: Weekday | None = None,
    closed: dt.date | None = None,
) -> Panel | None:
    """The Bernoulli CUSUM of ``key`` over its phase-II experiences, or None if it is not event-watched."""
    phases = {k: v for k, v in read_phases(con).items() if (k[0], k[2]) == (key[0], key[2])}
    result = detect_all(
        con,
        _moment_aggregate(con, key[0], key[2]),
        detection,
        closed=closed or last or dt.date.today(),
        first=first,
        last=last,
        L=L,
        phases=phases,
        weekday=weekday,
    )
    trace = result.traces.get(key)
    if trace is None:
        return None
    days = trace.day
    x = _spread(days)
    sel = x >= (ordinal(since) if since else -math.inf)
    stat, hits, h_at, arl_at = trace.statistic, trace.signal, trace.h, trace.arl0
    marks = [
        Mark(
            float(xi),
            float(v),
            "worse",
            "bcusum",
            f"{dt.date.fromordinal(int(xi)):%Y-%m-%d}: worse signal, the CUSUM reached h = {h:.2f}",
        )
        for xi, v, h, hit in zip(x[sel], stat[sel], h_at[sel], hits[sel], strict=True)
        if hit
    ]
    xs = x[sel].tolist()
    hover = [
        f"{dt.date.fromordinal(int(xi)):%Y-%m-%d}, experience {k + 1} of the day: CUSUM {v:.2f} (h = {h:.2f})"
        for xi, v, h, k in zip(
            xs, stat[sel].tolist(), h_at[sel].tolist(), _rank_in_day(days)[sel].tolist(), strict=True
        )
    ]
    shown = h_at[sel] if sel.any() else h_at
    arls = arl_at[sel] if sel.any() else arl_at
    if shown.size and float(shown.min()) != float(shown.max()):
        design = (
            f"h = {float(shown.min()):.2f}–{float(shown.max()):.2f} following the stream's volume "
            f"(ARL₀ ≈ {float(arls.min()):,.0f}–{float(arls.max()):,.0f} experiences)"
        )
    elif shown.size:
        design = f"h = {float(shown[0]):.2f}, ARL₀ ≈ {float(arls[0]):,.0f} experiences"
    else:
        design = "no experience judged yet"
    return Panel(
        kind="bcusum",
        title="misses per experience: Bernoulli CUSUM (Reynolds & Stoumbos)",
        y_label="CUSUM of misses (restarts at 0 after a signal)",
        x=xs,
        statistic=stat[sel].tolist(),
        center=[math.nan] * len(xs),
        lcl=[math.nan] * len(xs),
        ucl=h_at[sel].tolist(),
        provisional=[False] * len(xs),
        marks=marks,
        hover=hover,
        note=(
            f"p₀ = {trace.p0:.2%} from the baseline, tuned for the odds of a miss ×{ODDS_RATIO:g} "
            f"(γ = {trace.gamma:.3f} at p₀, each experience's from its expected rate): {design}"
        ),
        step=True,
    )


def _rank_in_day(days: np.ndarray) -> np.ndarray:
    """0, 1, 2, … within each run of equal days (events are in time order)."""
    if not days.size:
        return days
    starts = np.concatenate([[True], days[1:] != days[:-1]])
    idx = np.arange(days.size)
    first = np.maximum.accumulate(np.where(starts, idx, 0))
    return idx - first


def _spread(days: np.ndarray) -> np.ndarray:
    """Each experience at its day, spread evenly across the day in event order."""
    if not days.size:
        return np.zeros(0)
    rank = _rank_in_day(days)
    _, inverse, counts = np.unique(days, return_inverse=True, return_counts=True)
    return (days + EPOCH).astype(float) + (rank + 0.5) / counts[inverse]
