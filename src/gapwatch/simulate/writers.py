"""Write a simulated world to a folder: ``<source>.csv`` per source mapping, then ``truth.json``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from gapwatch.simulate.dirty import inject
from gapwatch.simulate.generate import World
from gapwatch.simulate.perceptions import PerceptionModel, perception_table
from gapwatch.simulate.tables import STYLE, iso, people_ids, source_table
from gapwatch.simulate.truth import truth

TRUTH_FILE = "truth.json"
PERCEPTIONS_FILE = "perceptions.csv"


def perceptions(world: World, customer_ids: pa.Array, model: PerceptionModel | None = None) -> pa.Table:
    """The perception survey export (customers, employees, leaders; see ``simulate/perceptions.py``)."""
    config = world.spec.config
    chosen = model or PerceptionModel()
    person = world.survey.person
    return perception_table(
        np.random.default_rng([world.seed, 12]),
        start=world.start,
        days=world.days,
        silos=list(config.silos),
        dimensions=list(config.perspectives.dimensions),
        answered_at=np.asarray(world.survey.answered_at, dtype=np.float64),
        customer_ids=[str(c) for c in customer_ids.take(pa.array(person)).to_pylist()],
        peak_pain=np.asarray(world.memory.peak[person], dtype=np.float64),
        model=chosen,
    )


def perception_truth(model: PerceptionModel | None = None) -> dict[str, Any]:
    m = model or PerceptionModel()
    return {
        "file": PERCEPTIONS_FILE,
        "leader_bias": m.leader_bias,
        "employee_bias": m.employee_bias,
        "scale": list(m.scale),
    }


def survey_table(world: World, customer_ids: pa.Array) -> pa.Table | None:
    """The outcome source's export (``survey.csv``: customer, answered_at, score)."""
    found = world.spec.outcome_source()
    if found is None:
        return None
    name, source = found
    cols: dict[str, pa.Array] = {}
    if source.customer_id is not None and source.customer_id.column:
        cols[source.customer_id.column] = customer_ids.take(pa.array(world.survey.person))
    if source.occurred_at.column:
        cols[source.occurred_at.column] = iso(
            world.survey.answered_at, world.start, STYLE.get(name, ("", 0))[1]
        )
    if source.value is not None and source.value.column:
        cols[source.value.column] = pa.array(world.survey.score.astype(np.int64))
    return pa.table(cols)


def tables(world: World) -> tuple[dict[str, pa.Table], pa.Array]:
    """Every source's table (experience sources, then the survey) and the visitor ids."""
    who = people_ids(world)
    out = {
        name: source_table(world, name, source, who)
        for name, source in world.spec.experience_sources().items()
    }
    survey = survey_table(world, who.customer)
    found = world.spec.outcome_source()
    if survey is not None and found is not None:
        out[found[0]] = survey
    return out, who.visitor


def write_world(
    world: World, out: Path, dirty: float = 0.0, progress: Callable[[str], None] | None = None
) -> dict[str, int]:
    """Write all files; return rows written per source (bad rows included)."""
    step = progress or (lambda _: None)
    out.mkdir(parents=True, exist_ok=True)
    built, visitors = tables(world)
    rng = np.random.default_rng([world.seed, 7])
    injected: list[dict[str, Any]] = []
    rows: dict[str, int] = {}
    sources = world.spec.experience_sources()
    for name, table in built.items():
        step(f"{name}.csv")
        if dirty > 0 and name in sources:
            table, added = inject(rng, name, table, sources[name], dirty)
            injected += added
        pacsv.write_csv(table, out / f"{name}.csv", pacsv.WriteOptions(quoting_style="needed"))
        rows[name] = table.num_rows
    step(PERCEPTIONS_FILE)
    survey = perceptions(world, people_ids(world).customer)
    pacsv.write_csv(survey, out / PERCEPTIONS_FILE, pacsv.WriteOptions(quoting_style="needed"))
    step(TRUTH_FILE)
    facts = truth(world, visitors)
    facts["perspectives"] = {**perception_truth(), "rows": survey.num_rows}
    facts["files"] = rows
    facts["dirty"] = {"fraction": dirty, "rows": _count(injected), "injected": injected}
    (out / TRUTH_FILE).write_text(json.dumps(facts, separators=(",", ":")) + "\n", encoding="utf-8")
    return rows


def _count(injected: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for item in injected:
        per = counts.setdefault(item["source"], {})
        per[item["kind"]] = per.get(item["kind"], 0) + 1
    return counts
