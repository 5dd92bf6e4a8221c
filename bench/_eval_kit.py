"""Scoring of a monitor run against a simulated world's truth, for bench/evaluate.py.

Self-contained on purpose: it reads only what every version of the monitor gives (signals
with moment, segment, metric, period, chart, direction; the daily sums and baseline mask), so
the same scoring judges the engine before and after a change on the same saved worlds.

* An incident counts as caught by the first "worse" signal on its stream, or on its moment's
  parent stream with the incident's segment the top contributor of excess misses, or (for a
  systemic incident) on any stream of its moment × metric, from its start to 7 days after its
  end; "within 7 days" means that signal came at most 7 days after the start.
* A stream is *clean* when no incident and no drift touches it (neither it nor, through its
  parent, its moment × metric): signals there are false alarms. Drifts (slow real change) and
  holiday peaks (declared as known calendar effects) are neither incidents nor clean.
* Alerts are episodes (the service's rule, ``domain.alerts.episodes``, restated here): per
  moment × metric and kind (misses, mean gap), a "worse" signal within 28 days of the previous
  one grows the open alert.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

GRACE_DAYS = 7
CAUGHT_DAYS = 7
EPISODE_DAYS = 28
ALL = "*"
Key = tuple[str, str, str]


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text[:10])


@dataclass
class Score:
    """One world's figures."""

    weeks: float = 0.0
    incidents: list[dict[str, Any]] = field(default_factory=list)  # size, volume, delay (None: missed)
    clean_signals: int = 0  # all directions, on clean streams
    clean_worse: int = 0
    clean_alerts: int = 0
    alerts: int = 0
    worse: int = 0
    better: int = 0
    drift_alerts: int = 0
    by_chart: dict[str, int] = field(default_factory=dict)


def _families(truth: dict[str, Any]) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    incident = {(i["moment"], i["metric"]) for i in truth["incidents"]}
    drift = {(d["moment"], d["metric"]) for d in truth.get("seasonality", {}).get("drifts", [])}
    return incident, drift


def _counts_for(result: Any, s: Any, inc: dict[str, Any]) -> bool:
    if (s.moment, s.metric) != (inc["moment"], inc["metric"]) or s.direction != "worse":
        return False
    if not day(inc["start"]) <= s.period <= day(inc["end"]) + dt.timedelta(days=GRACE_DAYS):
        return False
    if inc.get("systemic") or s.segment == inc["segment"]:
        return True
    from gapwatch.demo.score import top_segment  # the demo's own rule (every version measured has it)

    return s.segment == ALL and top_segment(result, s) == inc["segment"]


RATE_CHARTS = {"p", "pprime", "np", "bcusum", "g"}


def episodes(signals: Iterable[Any], gap: int = EPISODE_DAYS) -> list[tuple[str, str, dt.date, int]]:
    """(moment, metric, first day, signals) per alert episode of the "worse" signals (per kind:
    more misses, or a lower mean gap)."""
    fam: dict[tuple[str, str, bool], list[dt.date]] = {}
    for s in signals:
        if s.direction != "better":
            fam.setdefault((s.moment, s.metric, s.chart in RATE_CHARTS), []).append(s.period)
    out = []
    for (moment, metric, _), days in fam.items():
        days.sort()
        first, last, count = days[0], days[0], 0
        for d in days:
            if (d - last).days > gap:
                out.append((moment, metric, first, count))
                first, count = d, 0
            last, count = d, count + 1
        out.append((moment, metric, first, count))
    return out


def score(result: Any, truth: dict[str, Any], baseline_days: int) -> Score:
    out = Score()
    for inc in truth["incidents"]:
        found = [s for s in result.signals if _counts_for(result, s, inc)]
        first = min((s.period for s in found), default=None)
        delay = (first - day(inc["start"])).days if first else None
        out.incidents.append({"size": float(inc["size"]), "volume": inc["volume"], "delay": delay})
    incident, drift = _families(truth)
    sig = list(result.signals)
    clean = [s for s in sig if (s.moment, s.metric) not in incident | drift]
    out.clean_signals = len(clean)
    out.clean_worse = sum(s.direction == "worse" for s in clean)
    out.worse = sum(s.direction == "worse" for s in sig)
    out.better = len(sig) - out.worse
    eps = episodes(sig)
    out.alerts = len(eps)
    out.clean_alerts = sum((m, k) not in incident | drift for m, k, _, _ in eps)
    out.drift_alerts = sum((m, k) in drift and (m, k) not in incident for m, k, _, _ in eps)
    for s in clean:
        if s.direction == "worse":
            out.by_chart[s.chart] = out.by_chart.get(s.chart, 0) + 1
    assert result.first_period and result.last_period
    out.weeks = max((result.last_period - result.first_period).days + 1 - baseline_days, 0) / 7.0
    return out


def quantiles(values: Sequence[float | None]) -> str:
    got = [v for v in values if v is not None]
    if not got:
        return "–"
    q1, med, q3 = np.percentile(got, [25, 50, 75])
    return f"{med:.1f} ({q1:.1f}–{q3:.1f})"
