"""Perception survey rows: validated one by one, every rejected row kept with its reason.

One row per answer, columns ``respondent_id``, ``perspective``, ``silo``, ``dimension``,
``item``, ``kind``, ``score``, ``answered_at`` (names matched without regard to case or
surrounding spaces; other columns are ignored). Rules:

- ``respondent_id``: required, at most 128 characters;
- ``perspective``: customer, employee or leader;
- ``silo``: a silo of the workspace, or ``all`` (an answer about the company as a whole);
- ``dimension``: a dimension of the workspace's ``perspectives`` section;
- ``item``: required, at most 128 characters;
- ``kind``: E (expectation) or P (perception);
- ``score``: a number on the workspace's scale (default 1–7);
- ``answered_at``: ISO 8601 (a naive time is read in the workspace time zone), not in the
  future beyond a day's grace and not before 1990.

Pure: takes text cells, returns the accepted answers and the rejected rows.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

__all__ = ["COLUMNS", "Answer", "PerceptionBatch", "Rejected", "validate_rows"]

COLUMNS = ("respondent_id", "perspective", "silo", "dimension", "item", "kind", "score", "answered_at")
PERSPECTIVES = ("customer", "employee", "leader")
MAX_ID = 128
EARLIEST = dt.datetime(1990, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class Answer:
    respondent_id: str
    perspective: str
    silo: str
    dimension: str
    item: str
    kind: str
    score: float
    answered_at: dt.datetime  # UTC
    row_number: int


@dataclass(frozen=True, slots=True)
class Rejected:
    row_number: int
    raw: dict[str, Any]
    code: str
    reason: str
    respondent_id: str | None


@dataclass(slots=True)
class PerceptionBatch:
    answers: list[Answer] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _when(text: str, zone: ZoneInfo) -> dt.datetime | None:
    try:
        stamp = dt.datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=zone)
    return stamp.astimezone(dt.UTC)


def validate_rows(
    rows: list[dict[str, Any]],
    *,
    silos: set[str],
    dimensions: set[str],
    scale: tuple[float, float],
    timezone: str,
    now: dt.datetime,
    first_row: int = 2,
) -> PerceptionBatch:
    """Check every row (``first_row``: the file row of ``rows[0]``, the header being row 1)."""
    zone = ZoneInfo(timezone)
    batch = PerceptionBatch()
    for i, raw in enumerate(rows):
        number = first_row + i
        cells = {k: _text(raw.get(k)) for k in COLUMNS}
        problem = _problem(cells, silos, dimensions, scale)
        when = _when(cells["answered_at"] or "", zone) if problem is None else None
        if problem is None:
            if when is None:
                problem = ("bad_timestamp", f"answered_at {cells['answered_at']!r} is not an ISO 8601 time")
            elif when > now + dt.timedelta(days=1) or when < EARLIEST:
                problem = (
                    "timestamp_out_of_window",
                    f"answered_at {cells['answered_at']} is outside 1990..now",
                )
        if problem is not None:
            batch.rejected.append(Rejected(number, dict(raw), problem[0], problem[1], cells["respondent_id"]))
            continue
        assert when is not None
        batch.answers.append(
            Answer(
                str(cells["respondent_id"]),
                str(cells["perspective"]).lower(),
                str(cells["silo"]),
                str(cells["dimension"]),
                str(cells["item"]),
                str(cells["kind"]).upper(),
                float(str(cells["score"])),
                when,
                number,
            )
        )
    return batch


def _problem(
    c: dict[str, str | None], silos: set[str], dimensions: set[str], scale: tuple[float, float]
) -> tuple[str, str] | None:
    for name in COLUMNS:
        if c[name] is None:
            return f"missing_{name}", f"{name} is empty"
    rid, item = str(c["respondent_id"]), str(c["item"])
    if len(rid) > MAX_ID:
        return "respondent_id_too_long", f"respondent_id is longer than {MAX_ID} characters"
    if len(item) > MAX_ID:
        return "item_too_long", f"item is longer than {MAX_ID} characters"
    if str(c["perspective"]).lower() not in PERSPECTIVES:
        return "unknown_perspective", f"perspective {c['perspective']!r} is not customer, employee or leader"
    if c["silo"] not in silos and c["silo"] != "all":
        return "unknown_silo", f"silo {str(c['silo'])[:64]!r} is not declared (nor 'all')"
    if c["dimension"] not in dimensions:
        return "unknown_dimension", f"dimension {str(c['dimension'])[:64]!r} is not declared"
    if str(c["kind"]).upper() not in ("E", "P"):
        return "bad_kind", f"kind {str(c['kind'])[:16]!r} is not E or P"
    try:
        score = float(str(c["score"]))
    except ValueError:
        return "bad_score", f"score {str(c['score'])[:32]!r} is not a number"
    if not math.isfinite(score) or not scale[0] <= score <= scale[1]:
        return "score_out_of_scale", f"score {score:g} is outside the scale {scale[0]:g}..{scale[1]:g}"
    return None
