"""Render the world as the tables source systems would export, column names from the source mappings.

Each system has its own habits: id prefixes, the time zone offset it writes, milliseconds where the
mapping scales (``scale: 0.001``), raw labels where the mapping maps (``Activity Type``, ``STD``).
Only events inside the window ``[0, days)`` are exported.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import partial

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from gapwatch.config.schema import ExperienceSpec, FieldSpec, Source
from gapwatch.domain.gap import Status
from gapwatch.simulate.attributes import RowContext, attribute, note
from gapwatch.simulate.calendar import Floats, Ints
from gapwatch.simulate.generate import World
from gapwatch.simulate.spec import reverse_map

# source -> (event id prefix, UTC offset in minutes the system writes)
STYLE: dict[str, tuple[str, int]] = {
    "web": ("hit-", 0),
    "crm": ("ACT-", -300),
    "orders": ("SO-", 60),
    "usage": ("ses_", 0),
    "tickets": ("TCK-", 120),
    "survey": ("", 0),
}


def iso(t: Floats, start: dt.date, offset_minutes: int = 0) -> pa.Array:
    """ISO 8601 with offset, e.g. ``2025-01-06T14:03:11+01:00``, for times in days since ``start``."""
    base = (start - dt.date(1970, 1, 1)).days * 86400
    seconds = base + np.round(t * 86400.0).astype(np.int64) + offset_minutes * 60
    # a cast is several times faster than strftime: "YYYY-MM-DD HH:MM:SS" -> ISO with a "T"
    text = pc.replace_substring(pc.cast(pa.array(seconds.astype("datetime64[s]")), pa.string()), " ", "T")
    sign = "+" if offset_minutes >= 0 else "-"
    hours, minutes = divmod(abs(offset_minutes), 60)
    return pc.binary_join_element_wise(text, f"{sign}{hours:02d}:{minutes:02d}", "")


def ids(prefix: str, numbers: Ints, width: int = 7) -> pa.Array:
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers), pa.string()), width=width, padding="0")
    return pc.binary_join_element_wise(prefix, digits, "")


@dataclass(frozen=True, slots=True)
class People:
    customer: pa.Array
    visitor: pa.Array


def people_ids(world: World) -> People:
    """Customer ids (shared by every system) and visitor ids (web cookies, not guessable from the order)."""
    n = world.people.segment.size
    rng = np.random.default_rng(world.seed)
    multiplier = int(rng.integers(10**10, 10**11)) * 10 + 7  # coprime with 10**12: a permutation
    scrambled = (np.arange(1, n + 1, dtype=np.int64) * multiplier) % 10**12
    return People(ids("C", np.arange(1, n + 1)), ids("v", scrambled, 12))


def source_table(world: World, name: str, source: Source, who: People) -> pa.Table:
    """One experience source's export."""
    spec = world.spec
    mine = np.array([m.source == name for m in spec.moments])
    sel = np.flatnonzero(mine[world.touches.moment] & (world.touches.t >= 0))
    person, t, moment = world.touches.person[sel], world.touches.t[sel], world.touches.moment[sel]
    prefix, offset = STYLE.get(name, (name[:3].upper() + "-", 0))
    stamp = partial(iso, start=world.start, offset_minutes=offset)
    cols: dict[str, pa.Array] = {}
    _put(cols, source.event_id[0], ids(prefix, np.arange(1, sel.size + 1), 8))
    if source.anonymous_id is not None and source.anonymous_id.column:
        _put(cols, source.anonymous_id.column, who.visitor.take(pa.array(person)))
    if source.customer_id is not None and source.customer_id.column:
        known = world.touches.signup[person] <= t + 1e-9 if source.anonymous_id is not None else None
        customer = who.customer.take(pa.array(person))
        _put(
            cols, source.customer_id.column, customer if known is None else pc.if_else(known, customer, None)
        )
    _put(
        cols,
        _column(source.occurred_at),
        stamp(t) if not source.occurred_at.format else _fmt(t, world.start, source.occurred_at.format),
    )
    _labelled(cols, source.moment, moment.astype(np.int64), [m.key for m in spec.moments])
    _labelled(cols, source.segment, world.people.segment[person].astype(np.int64), list(spec.segments))
    elapsed = _experiences(world, source, sel, moment, cols)
    missed = _missed(world)[sel]
    ctx = RowContext(
        np.random.default_rng([world.seed, len(cols), sel.size]),
        person,
        t,
        missed,
        elapsed,
        world.people.segment.size,
        stamp,
    )
    if source.text is not None and source.text.column:
        _put(cols, source.text.column, note(ctx))
    for attr in source.attributes:
        _put(cols, attr, attribute(attr, ctx))
    for column in source.event_id[1:]:
        _put(cols, column, ids(prefix, np.arange(1, sel.size + 1), 8))
    return pa.table(cols)


def _experiences(
    world: World, source: Source, sel: Ints, moment: npt.NDArray[np.int16], cols: dict[str, pa.Array]
) -> Floats:
    """Write every experience entry's value (and stated expectation); return days elapsed per row."""
    keys = world.rows.touch.astype(np.int64) * len(world.rows.metric) + world.rows.metric_idx
    elapsed = np.zeros(sel.size)
    for entry in source.experiences:
        metric = _entry_metric(world, entry, moment)
        pos, found = _lookup(keys, sel, metric, len(world.rows.metric))
        value = np.where(found, world.values.value[pos], np.nan)
        if entry.value.column:
            _put(cols, entry.value.column, _number(value, entry.value.scale, _is_rating(world, metric)))
        if entry.expected is not None and entry.expected.column:
            _put(cols, entry.expected.column, _number(np.where(found, world.values.expected[pos], np.nan)))
        if entry.metric.column and entry.metric.column not in cols:
            _labelled(cols, entry.metric, np.maximum(metric, 0), list(world.rows.metric))
        days = np.array([world.spec.config.metrics[m].unit == "days" for m in world.rows.metric])
        elapsed = np.where(
            found & days[np.maximum(metric, 0)] & (elapsed == 0), np.nan_to_num(value), elapsed
        )
    return elapsed


def _entry_metric(world: World, entry: ExperienceSpec, moment: npt.NDArray[np.int16]) -> Ints:
    """Per row: index of the metric this entry carries for the row's moment (-1: none)."""
    candidates = (
        {str(entry.metric.value)}
        if entry.metric.value is not None
        else {str(v) for v in (entry.metric.map or {}).values()}
    )
    per_moment = [
        next((world.rows.metric.index(k) for k in m.metrics if k in candidates), -1)
        for m in world.spec.moments
    ]
    return np.asarray(per_moment, dtype=np.int64)[moment]


def _lookup(keys: Ints, sel: Ints, metric: Ints, n_metrics: int) -> tuple[Ints, npt.NDArray[np.bool_]]:
    wanted = sel.astype(np.int64) * n_metrics + metric
    pos = np.minimum(np.searchsorted(keys, wanted), keys.size - 1)
    return pos, (keys[pos] == wanted) & (metric >= 0)


def _missed(world: World) -> npt.NDArray[np.bool_]:
    out = np.zeros(world.touches.t.size, dtype=bool)
    out[world.rows.touch[world.values.status == Status.MISSED]] = True
    return out


def _is_rating(world: World, metric: Ints) -> bool:
    names = {world.rows.metric[i] for i in np.unique(metric) if i >= 0}
    return bool(names) and all(world.spec.config.metrics[k].kind == "rating" for k in names)


def _number(value: Floats, scale: float | None = None, integer: bool = False) -> pa.Array:
    """Numbers as the exporting system writes them: ms as integers, ratings as integers, else 2 decimals."""
    if scale:
        value, integer = value / scale, True
    present = ~np.isnan(value)
    if integer or np.all(np.round(value[present]) == value[present]):
        return pa.array(np.round(np.nan_to_num(value)).astype(np.int64), mask=~present)
    return pa.array(np.round(value, 2), mask=~present)


def _labelled(cols: dict[str, pa.Array], spec: FieldSpec | None, codes: Ints, keys: list[str]) -> None:
    """A mapped column gets the raw label of each row's key (``keys[code]``); a constant writes nothing."""
    if spec is None or spec.column is None or spec.column in cols:
        return
    labels = reverse_map(spec)
    raw = pa.array([labels.get(k, k) for k in keys], type=pa.string())
    _put(cols, spec.column, raw.take(pa.array(codes)))


def _column(spec: FieldSpec) -> str:
    if spec.column is None:
        raise ValueError("occurred_at must name a column to be simulated")
    return spec.column


def _fmt(t: Floats, start: dt.date, fmt: str) -> pa.Array:
    base = (start - dt.date(1970, 1, 1)).days * 86400
    seconds = base + np.round(t * 86400.0).astype(np.int64)
    return pc.strftime(pa.array(seconds.astype("datetime64[s]")), format=fmt)


def _put(cols: dict[str, pa.Array], name: str, array: pa.Array) -> None:
    cols.setdefault(name, array)
