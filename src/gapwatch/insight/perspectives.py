"""Perspectives: how customers, front-line employees and leaders see the same service.

Each answer is one row: a respondent of a perspective (customer / employee / leader) scores
an item of a quality dimension (SERVQUAL's tangibles, reliability, responsiveness, assurance,
empathy by default) as an expectation (E) or a perception (P), for a silo, on a day.

The unit of analysis is the respondent, not the answer: a respondent's items of one dimension
are averaged first (they are answers of one person, not independent draws), then

- each perspective's score per dimension × silo × period is the mean over respondents, with a
  Student t interval;
- the perception gaps leader − customer and employee − customer are differences of independent
  means, with Welch's t interval (unequal variances: a silo has few leaders);
- P − E is paired within respondents (each respondent's P mean minus E mean), with a t interval.

A gap is **significant** when its 95 % interval excludes 0, and **widening** when it is
significant and moved further from 0 (in its own direction) than in the previous period by
more than chance allows (one-sided z test on the change at 5 %). Customers' answers given for
the silo ``all`` (about the company as a whole) are compared with every silo's employees and
leaders, together with any answers given for that silo itself.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.stats import norm
from scipy.stats import t as student

__all__ = ["GapEstimate", "PerceptionRows", "ScoreEstimate", "perception_gaps", "welch_interval"]

Floats = npt.NDArray[np.float64]
PERSPECTIVES = ("customer", "employee", "leader")
ALL = "all"


@dataclass(frozen=True, slots=True)
class PerceptionRows:
    """Answers as parallel arrays (already validated); ``period`` is a label such as 2025-Q1."""

    respondent: list[str]
    perspective: list[str]
    silo: list[str]
    dimension: list[str]
    kind: list[str]  # "E" or "P"
    score: Floats
    period: list[str]


@dataclass(frozen=True, slots=True)
class ScoreEstimate:
    dimension: str
    silo: str
    period: str
    perspective: str
    kind: str
    mean: float
    low: float | None
    high: float | None
    respondents: int


@dataclass(frozen=True, slots=True)
class GapEstimate:
    dimension: str
    silo: str
    period: str
    gap: str  # "leader-customer", "employee-customer", "P-E customer", "P-E employee", ...
    estimate: float
    low: float | None
    high: float | None
    se: float | None
    n: tuple[int, int]  # respondents on each side (P-E: respondents, respondents)
    significant: bool
    widening: bool


def mean_interval(
    values: Floats, level: float = 0.95
) -> tuple[float, float | None, float | None, float | None]:
    """Mean, t interval and standard error of one sample (no interval below two values)."""
    n = values.size
    mean = float(values.mean()) if n else math.nan
    if n < 2:
        return mean, None, None, None
    se = float(values.std(ddof=1) / math.sqrt(n))
    half = float(student.ppf(0.5 + level / 2, n - 1)) * se
    return mean, mean - half, mean + half, se


def welch_interval(
    a: Floats, b: Floats, level: float = 0.95
) -> tuple[float, float | None, float | None, float | None]:
    """Mean(a) − mean(b) with Welch's t interval and its standard error.

    Examples
    --------
    >>> d, lo, hi, se = welch_interval(np.array([5.0, 6, 7, 6]), np.array([4.0, 4, 5, 3, 4]))
    >>> round(d, 2), round(lo, 2), round(hi, 2)
    (2.0, 0.74, 3.26)
    """
    if a.size < 2 or b.size < 2:
        return float(a.mean() - b.mean()) if a.size and b.size else math.nan, None, None, None
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se = math.sqrt(va + vb)
    diff = float(a.mean() - b.mean())
    if se == 0:
        return diff, diff, diff, 0.0
    df = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    half = float(student.ppf(0.5 + level / 2, df)) * se
    return diff, diff - half, diff + half, se


def perception_gaps(
    rows: PerceptionRows, level: float = 0.95
) -> tuple[list[ScoreEstimate], list[GapEstimate]]:
    """Scores and gaps per dimension × silo × period (see the module docstring).

    Dimension ``all`` averages each respondent over every dimension; silo ``all`` pools the
    silos' employees and leaders and holds the customers' answers about the company (their
    scores and P − E are reported there once, not again under every silo).
    """
    persp = np.asarray(rows.perspective, dtype=object)
    silo = np.asarray(rows.silo, dtype=object)
    dim = np.asarray(rows.dimension, dtype=object)
    period = np.asarray(rows.period, dtype=object)
    silos = sorted({s for s in rows.silo if s != ALL})
    scores: list[ScoreEstimate] = []
    gaps: list[GapEstimate] = []
    for per in sorted(set(rows.period)):
        for d in [*sorted(set(rows.dimension)), ALL]:
            cell = (period == per) & ((dim == d) if d != ALL else np.ones(dim.size, dtype=bool))
            for s in [*silos, ALL]:
                company = (persp == "customer") & (silo == ALL)
                mask = cell & (((persp != "customer") | company) if s == ALL else ((silo == s) | company))
                own = bool(np.any(cell & (persp == "customer") & (silo == s)))
                side = _side(rows, np.flatnonzero(mask))
                shown = side if own else {k: v for k, v in side.items() if k[0] != "customer"}
                scores += _scores(shown, d, s, per, level)
                gaps += _gaps(side, d, s, per, level, customer_pe=own)
    return scores, _flag_widening(gaps)


Side = dict[tuple[str, str], dict[str, float]]  # (perspective, kind) -> respondent -> mean


def _side(rows: PerceptionRows, index: npt.NDArray[np.intp]) -> Side:
    """Each respondent's mean score per (perspective, kind) over the rows ``index``."""
    sums: dict[tuple[str, str], dict[str, list[float]]] = {}
    for i in index:
        bucket = sums.setdefault((rows.perspective[i], rows.kind[i]), {})
        acc = bucket.setdefault(rows.respondent[i], [0.0, 0.0])
        acc[0] += float(rows.score[i])
        acc[1] += 1.0
    return {k: {r: a / c for r, (a, c) in b.items()} for k, b in sums.items()}


def _scores(side: Side, dimension: str, silo: str, period: str, level: float) -> list[ScoreEstimate]:
    out = []
    for (persp, kind), by_resp in sorted(side.items()):
        values = np.fromiter(by_resp.values(), dtype=np.float64)
        mean, low, high, _ = mean_interval(values, level)
        out.append(ScoreEstimate(dimension, silo, period, persp, kind, mean, low, high, values.size))
    return out


def _gaps(
    side: Side, dimension: str, silo: str, period: str, level: float, customer_pe: bool
) -> list[GapEstimate]:
    out = []
    customer = side.get(("customer", "P"), {})
    for other in ("leader", "employee"):
        them = side.get((other, "P"), {})
        if len(customer) and len(them):
            a = np.fromiter(them.values(), dtype=np.float64)
            b = np.fromiter(customer.values(), dtype=np.float64)
            est, low, high, se = welch_interval(a, b, level)
            out.append(
                _gap(dimension, silo, period, f"{other}-customer", est, low, high, se, (a.size, b.size))
            )
    for persp in PERSPECTIVES:
        if persp == "customer" and not customer_pe:
            continue
        p, e = side.get((persp, "P"), {}), side.get((persp, "E"), {})
        both = sorted(set(p) & set(e))
        if not both:
            continue
        diff = np.array([p[r] - e[r] for r in both], dtype=np.float64)
        est, low, high, se = mean_interval(diff, level)
        out.append(_gap(dimension, silo, period, f"P-E {persp}", est, low, high, se, (diff.size, diff.size)))
    return out


def _gap(
    dimension: str,
    silo: str,
    period: str,
    name: str,
    est: float,
    low: float | None,
    high: float | None,
    se: float | None,
    n: tuple[int, int],
) -> GapEstimate:
    significant = low is not None and high is not None and (low > 0 or high < 0)
    return GapEstimate(dimension, silo, period, name, est, low, high, se, n, significant, False)


def _flag_widening(gaps: Iterable[GapEstimate], alpha: float = 0.05) -> list[GapEstimate]:
    ordered = sorted(gaps, key=lambda g: (g.dimension, g.silo, g.gap, g.period))
    out: list[GapEstimate] = []
    previous: GapEstimate | None = None
    z = float(norm.ppf(1 - alpha))
    for g in ordered:
        same = previous is not None and (previous.dimension, previous.silo, previous.gap) == (
            g.dimension,
            g.silo,
            g.gap,
        )
        widening = False
        if same and previous is not None and g.significant and g.se is not None and previous.se is not None:
            sign = 1.0 if g.estimate > 0 else -1.0
            change = sign * (g.estimate - previous.estimate)
            se = math.hypot(g.se, previous.se)
            widening = se > 0 and change / se > z
        out.append(
            GapEstimate(
                g.dimension,
                g.silo,
                g.period,
                g.gap,
                g.estimate,
                g.low,
                g.high,
                g.se,
                g.n,
                g.significant,
                widening,
            )
        )
        previous = g
    return out
