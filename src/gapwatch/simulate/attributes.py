"""Context columns real exports carry (device, carrier, owner, …) and short free-text notes.

Unknown attribute names in a custom mapping get an empty column, so any mapping can be written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from gapwatch.simulate.calendar import Floats, Ints

PER_PERSON: dict[str, tuple[tuple[str, ...], tuple[float, ...]]] = {
    "device": (("desktop", "mobile", "tablet"), (0.55, 0.38, 0.07)),
    "campaign": (
        ("", "spring_sale", "brand_search", "newsletter", "partner_referral", "retargeting"),
        (0.4, 0.15, 0.2, 0.1, 0.08, 0.07),
    ),
    "Owner": (
        ("Ana Souza", "Ben Okafor", "Chloé Martin", "Daan de Vries", "Eva Novak", "Farid Haddad"),
        (0.2, 0.2, 0.15, 0.15, 0.15, 0.15),
    ),
    "region": (("north", "south", "east", "west", "central"), (0.2, 0.25, 0.15, 0.2, 0.2)),
}
PER_ROW: dict[str, tuple[tuple[str, ...], tuple[float, ...]]] = {
    "carrier": (("PostNL", "DHL", "DPD", "UPS"), (0.4, 0.3, 0.2, 0.1)),
    "platform": (("web", "ios", "android"), (0.5, 0.25, 0.25)),
    "channel": (("email", "chat", "phone", "web form"), (0.4, 0.3, 0.15, 0.15)),
    "topic": (("billing", "login", "bug", "how-to", "delivery", "account"), (0.2, 0.15, 0.2, 0.25, 0.1, 0.1)),
}
GOOD = ("Thanks, all clear.", "Quick and helpful.", "Went as expected.", "Happy with this.", "")
# Worded as people write them, so the text analysis has something to find: a lexicon's negative
# tone, an emotion (disappointment) and intents (where is my order, complaint, cancel).
BAD = (
    "Took far too long, very frustrating.",
    "Still waiting for an answer.",
    "Not what we were promised, disappointed.",
    "Had to chase this twice. Unacceptable.",
    "Disappointing service, I want to cancel.",
)


@dataclass(frozen=True, slots=True)
class RowContext:
    """What attribute generators may look at for the rows of one source file."""

    rng: np.random.Generator
    person: Ints
    t: Floats
    missed: npt.NDArray[np.bool_]  # did any experience of the row miss
    elapsed_days: Floats  # the row's first value if measured in days (delivery_days), else 0
    n_people: int
    iso: Callable[[Floats], pa.Array]


def attribute(name: str, ctx: RowContext) -> pa.Array:
    """One attribute column for the rows of a source."""
    if name in PER_PERSON:
        labels, probs = PER_PERSON[name]
        picks = ctx.rng.choice(len(labels), size=ctx.n_people, p=np.asarray(probs))[ctx.person]
        return _labels(labels, picks)
    if name in PER_ROW:
        labels, probs = PER_ROW[name]
        return _labels(labels, ctx.rng.choice(len(labels), size=ctx.person.size, p=np.asarray(probs)))
    if name.endswith("_at"):
        return ctx.iso(ctx.t - ctx.elapsed_days)  # e.g. ordered_at = delivered_at - delivery_days
    return pa.nulls(ctx.person.size, pa.string())


def note(ctx: RowContext, share: float = 0.35) -> pa.Array:
    """A short comment on some rows; its tone follows whether the row's experience missed."""
    written = ctx.rng.random(ctx.person.size) < share
    good = ctx.rng.integers(0, len(GOOD), ctx.person.size)
    bad = ctx.rng.integers(0, len(BAD), ctx.person.size)
    texts = np.where(ctx.missed, np.asarray(BAD, dtype=object)[bad], np.asarray(GOOD, dtype=object)[good])
    return pa.array(texts, type=pa.string(), mask=~(written & (texts != "")))


def _labels(labels: tuple[str, ...], picks: Ints) -> pa.Array:
    values = np.asarray(labels, dtype=object)[picks]
    return pa.array(values, type=pa.string(), mask=values == "")
