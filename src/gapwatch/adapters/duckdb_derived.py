"""Values the stage query derives from the raw cells: spans between two times, late or on
time, open promises, and segment labels taken from the data.

All of it is SQL inside the one compiled stage (no pass over rows in Python), so it runs
wherever the stage runs:

* ``between: [start, end]`` — ``(epoch(end) − epoch(start)) / unit``: a duration in days,
  hours, minutes or seconds. Each time is read like ``occurred_at`` (ISO 8601, a naive time
  in the workspace zone, or the field's ``format``).
* ``late: [promise, outcome]`` — 1.0 when the outcome came after the promise, else 0.0.
* A *promise in time*: an ``expected: {between: [start, due]}`` (its end is the moment the
  promise falls due) or a ``late`` value (its first time). An experience whose outcome cell
  is still empty is an **open promise**: it has no value yet, and once its due time has
  passed it counts as missed. A missed promise is judged when it was broken (at its due
  time), so a delivery that comes late later, or never, counts on the day the promise passed.
* ``segment: {column: C, labels: auto, max: N}`` — the label is turned into a segment key
  (accents stripped, lower case, runs of other characters as ``_``); labels not seen before
  from the source are admitted in the order they first appear, up to N per source.
"""

from __future__ import annotations

from dataclasses import dataclass

from gapwatch.adapters.duckdb_sql import lit
from gapwatch.config.schema import UNIT_SECONDS, FieldSpec

__all__ = [
    "SEGMENT_KEY",
    "Times",
    "late_sql",
    "parse_time",
    "segment_key_sql",
    "span_sql",
]

SEGMENT_KEY = r"^[a-z][a-z0-9_]{0,63}$"  # what a segment key may look like (the stream ids' rule)


@dataclass(frozen=True, slots=True)
class Times:
    """The two time cells of a derived field: trimmed text, parsed times and where they come from."""

    start_raw: str
    end_raw: str
    start: str
    end: str
    start_column: str
    end_column: str

    @property
    def where(self) -> str:
        return f"the time from column '{self.start_column}' to column '{self.end_column}'"

    @property
    def raw(self) -> str:
        """The end cell, NULL when either cell is empty (an empty start or end: no value)."""
        return f"(CASE WHEN {self.start_raw} IS NULL THEN NULL ELSE {self.end_raw} END)"


def parse_time(cell: str, fmt: str | None) -> str:
    """A text cell as TIMESTAMPTZ (NULL when it does not parse)."""
    if fmt:
        return f"CAST(try_strptime({cell}, {lit(fmt)}) AS TIMESTAMPTZ)"
    return f"TRY_CAST({cell} AS TIMESTAMPTZ)"


def span_sql(times: Times, spec: FieldSpec) -> str:
    """The time from start to end in the field's unit (NULL when either time is missing or bad)."""
    seconds = UNIT_SECONDS[spec.unit or "days"]
    scale = f" * {lit(float(spec.scale))}" if spec.scale is not None else ""
    return f"((epoch({times.end}) - epoch({times.start})) / {lit(seconds)}{scale})"


def late_sql(times: Times) -> str:
    """1.0 when the outcome (end) came after the promise (start), 0.0 when not, NULL when unknown."""
    return (
        f"(CASE WHEN {times.start} IS NULL OR {times.end} IS NULL THEN NULL "
        f"WHEN {times.end} > {times.start} THEN 1.0 ELSE 0.0 END)"
    )


def segment_key_sql(label: str) -> str:
    """A label as a segment key: accents stripped, lower case, other characters as ``_``.

    A key that would not start with a letter gets an ``s`` in front (``"01001"`` → ``s01001``);
    an empty key (a label of punctuation only) stays empty and is rejected.
    """
    slug = f"trim(regexp_replace(lower(strip_accents({label})), '[^a-z0-9]+', '_', 'g'), '_')"
    return f"(CASE WHEN {slug} = '' OR regexp_matches({slug}, '^[a-z]') THEN {slug} ELSE 's' || {slug} END)"
