"""Perception surveys in the simulated world: customers, front-line employees and leaders.

Customers who answer the NPS survey also answer a SERVQUAL-style questionnaire (most of them):
for each dimension, ``ITEMS`` items of expectation (E) and of perception (P) on a 1–7 scale, about
the company as a whole (silo ``all``). Their perception falls with the worst moment of their
journey (its peak pain, as the NPS does). Every quarter, each silo's front-line employees and
leaders answer the perception items for their own silo: "how do our customers experience us?".
They see the customers' true average perception of that quarter plus their perspective's bias:
leaders are optimistic by ``leader_bias`` points, employees by ``employee_bias`` (the
Savanta finding the seed cites). ``truth.json`` records both biases, so a test can check that
gapwatch recovers them. Answers are rounded to the scale's whole points.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from gapwatch.simulate.calendar import Floats

__all__ = ["PerceptionModel", "perception_table"]

ITEMS = 4


@dataclass(frozen=True, slots=True)
class PerceptionModel:
    leader_bias: float = 1.0
    employee_bias: float = 0.3
    customer_share: float = 0.7  # of NPS respondents who also fill in the questionnaire
    employees: int = 20  # per silo
    leaders: int = 4  # per silo
    perception: float = 5.0  # a customer never let down perceives this, on average
    pain_slope: float = 0.12  # points of perception lost per unit of peak pain
    expectation: float = 6.0
    respondent_sd: float = 0.7
    item_sd: float = 0.6
    scale: tuple[float, float] = (1.0, 7.0)


@dataclass(frozen=True, slots=True)
class Respondents:
    ids: list[str]
    perspective: list[str]
    silo: list[str]
    at: Floats  # days since the window start
    latent: Floats  # (respondents, dimensions): the respondent's own perception before items


def _quarters(start: dt.date, days: int) -> list[tuple[float, float]]:
    """Day ranges [from, to) of the calendar quarters that overlap the window."""
    out: list[tuple[float, float]] = []
    d = dt.date(start.year, 3 * ((start.month - 1) // 3) + 1, 1)
    end = start + dt.timedelta(days=days)
    while d < end:
        nxt = dt.date(d.year + (d.month + 2) // 12, (d.month + 2) % 12 + 1, 1)
        lo, hi = max(d, start), min(nxt, end)
        out.append((float((lo - start).days), float((hi - start).days)))
        d = nxt
    return out


def perception_table(
    rng: np.random.Generator,
    *,
    start: dt.date,
    days: int,
    silos: list[str],
    dimensions: list[str],
    answered_at: Floats,
    customer_ids: list[str],
    peak_pain: Floats,
    model: PerceptionModel,
) -> pa.Table:
    """The perception survey export: one row per answer (columns as gapwatch ingests them)."""
    k = len(dimensions)
    take = rng.random(answered_at.size) < model.customer_share
    at = answered_at[take]
    cust_latent = (
        model.perception
        - model.pain_slope * peak_pain[take, None]
        + rng.normal(0.0, model.respondent_sd, (int(take.sum()), k))
    )
    customers = Respondents(
        [customer_ids[i] for i in np.flatnonzero(take)],
        ["customer"] * at.size,
        ["all"] * at.size,
        at,
        cust_latent,
    )
    staff = _staff(rng, start, days, silos, k, at, model, peak_pain[take])
    rows = _answers(rng, customers, dimensions, model, with_expectation=True)
    rows += _answers(rng, staff, dimensions, model, with_expectation=False)
    rows.sort(key=lambda r: r[-1])
    cols: list[tuple[object, ...]] = list(zip(*rows, strict=True)) if rows else [()] * 8
    base = dt.datetime(start.year, start.month, start.day, tzinfo=dt.UTC)
    stamps = [(base + dt.timedelta(days=float(str(t)))).isoformat(timespec="seconds") for t in cols[7]]
    names = ("respondent_id", "perspective", "silo", "dimension", "item", "kind", "score")
    table = {n: pa.array(list(c)) for n, c in zip(names, cols[:7], strict=True)}
    table["answered_at"] = pa.array(stamps, pa.string())
    return pa.table(table)


def _staff(
    rng: np.random.Generator,
    start: dt.date,
    days: int,
    silos: list[str],
    k: int,
    cust_at: Floats,
    model: PerceptionModel,
    cust_pain: Floats,
) -> Respondents:
    ids: list[str] = []
    persp: list[str] = []
    silo_of: list[str] = []
    at: list[float] = []
    latent: list[Floats] = []
    for lo, hi in _quarters(start, days):
        # the customers' true mean perception this quarter (before their own respondent noise)
        inside = (cust_at >= lo) & (cust_at < hi)
        pain = cust_pain[inside] if inside.any() else cust_pain
        truth = model.perception - model.pain_slope * (float(pain.mean()) if pain.size else 0.0)
        for silo in silos:
            for who, count, bias in (
                ("employee", model.employees, model.employee_bias),
                ("leader", model.leaders, model.leader_bias),
            ):
                for j in range(count):
                    ids.append(f"{who[0].upper()}-{silo}-{j + 1:03d}")
                    persp.append(who)
                    silo_of.append(silo)
                    at.append(float(rng.uniform(lo, hi)))
                    latent.append(truth + bias + rng.normal(0.0, model.respondent_sd, k))
    return Respondents(ids, persp, silo_of, np.asarray(at), np.asarray(latent).reshape(len(ids), k))


Row = tuple[str, str, str, str, str, str, int, float]


def _answers(
    rng: np.random.Generator,
    who: Respondents,
    dimensions: list[str],
    model: PerceptionModel,
    *,
    with_expectation: bool,
) -> list[Row]:
    lo, hi = model.scale
    out: list[Row] = []
    kinds = ("E", "P") if with_expectation else ("P",)
    for r in range(len(who.ids)):
        expect = model.expectation + rng.normal(0.0, model.respondent_sd * 0.6)
        for d, dim in enumerate(dimensions):
            for kind in kinds:
                centre = who.latent[r, d] if kind == "P" else expect
                scores = np.clip(np.round(centre + rng.normal(0.0, model.item_sd, ITEMS)), lo, hi)
                for i in range(ITEMS):
                    out.append(
                        (
                            who.ids[r],
                            who.perspective[r],
                            who.silo[r],
                            dim,
                            f"{dim}_{i + 1}",
                            kind,
                            int(scores[i]),
                            float(who.at[r]),
                        )
                    )
    return out
