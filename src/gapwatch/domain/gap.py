"""Gap arithmetic: one experience against the expectation in force (DESIGN.md, "Gap arithmetic").

An expectation's zone of tolerance runs from *adequate* (below it the customer is let
down) to *desired* (above it they are delighted), oriented by the metric's direction.

- status: ``missed`` if the value is worse than adequate, ``exceeded`` if better than
  desired, ``met`` otherwise; a value exactly on an edge is met.
- signed gap = value - adequate, oriented so that negative is worse, in the metric's unit.
- normalised gap = signed gap / |desired - adequate| (0 at adequate, 1 at desired).
- a stated ``expected`` on the event replaces adequate for that event only.

Edge cases the design leaves open, settled here:

- a stated expectation can lie beyond desired (a customer promised 1 day when 2 would
  delight): being worse than what was promised is a miss first, so ``missed`` is tested
  before ``exceeded``;
- when the stated adequate equals desired the zone has no width; the normalised gap then
  uses the width of the declared zone (``zone_width``), so it stays comparable across events.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Literal

import numpy as np
import numpy.typing as npt

Direction = Literal["higher", "lower"]


class Status(IntEnum):
    """Gap status; the integer codes are what the store keeps."""

    MISSED = -1
    MET = 0
    EXCEEDED = 1

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class Gap:
    """The scored gap of one experience."""

    signed: float
    normalised: float
    status: Status
    adequate: float


def orientation(direction: Direction) -> float:
    """+1 when higher is better, -1 when lower is better."""
    if direction == "higher":
        return 1.0
    if direction == "lower":
        return -1.0
    raise ValueError(f"direction must be 'higher' or 'lower', not {direction!r}")


def score(
    value: float,
    adequate: float,
    desired: float,
    direction: Direction,
    expected: float | None = None,
) -> Gap:
    """Score one experience value against a zone of tolerance.

    Examples
    --------
    Delivery in 4 days against adequate 5 and desired 2 (lower is better):

    >>> g = score(4, adequate=5, desired=2, direction="lower")
    >>> g.status.label, g.signed, round(g.normalised, 4)
    ('met', 1.0, 0.3333)

    The customer was promised 3 days and waited 4: a miss, one day short.

    >>> g = score(4, adequate=5, desired=2, direction="lower", expected=3)
    >>> g.status.label, g.signed, g.normalised
    ('missed', -1.0, -1.0)
    """
    signed, norm, status, adequate_used = score_arrays(
        np.array([value], dtype=float),
        np.array([adequate], dtype=float),
        np.array([desired], dtype=float),
        np.array([orientation(direction)]),
        None if expected is None else np.array([expected], dtype=float),
    )
    return Gap(float(signed[0]), float(norm[0]), Status(int(status[0])), float(adequate_used[0]))


FloatArray = npt.NDArray[np.float64]


def score_arrays(
    value: FloatArray,
    adequate: FloatArray,
    desired: FloatArray,
    sign: FloatArray,
    expected: FloatArray | None = None,
) -> tuple[FloatArray, FloatArray, npt.NDArray[np.int8], FloatArray]:
    """Vectorised :func:`score`: ``sign`` is +1 (higher is better) or -1 per row.

    ``expected`` may hold NaN where an event states no expectation. Returns
    (signed gap, normalised gap, status codes, adequate level used).
    """
    zone_width = np.abs(desired - adequate)
    if expected is not None:
        adequate = np.where(np.isnan(expected), adequate, expected)
    signed = sign * (value - adequate)
    width = np.abs(desired - adequate)
    width = np.where(width > 0, width, zone_width)
    with np.errstate(divide="ignore", invalid="ignore"):
        norm = np.where(width > 0, signed / width, np.nan)
    beyond_desired = sign * (value - desired) > 0
    status = np.where(signed < 0, Status.MISSED, np.where(beyond_desired, Status.EXCEEDED, Status.MET))
    return signed, norm, status.astype(np.int8), adequate
