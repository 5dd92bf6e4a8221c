"""One request's messages, mapped: the records, behaviour rows, identity links and rejections.

This is what the HTTP face hands to the writer (``Runtime.submit_collect``). Mapping runs
on the request's own thread before that, so the single writer only stores.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from gapwatch.collect.results import Rejection


@dataclass(frozen=True, slots=True)
class Behaviour:
    """A tracked call that is no moment of truth (kept in the customer's journey)."""

    index: int
    message_id: str
    type: str
    name: str | None
    user_id: str | None
    anonymous_id: str | None
    occurred_at: dt.datetime
    properties: str | None  # JSON text, bounded


@dataclass(slots=True)
class Collected:
    """What one request yields; ``index`` everywhere is the message's position in the request."""

    source: str
    file: str  # how rejected rows name where they came from: "collect" or "webhook"
    messages: int
    experiences: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    outcomes: dict[str, list[tuple[int, dict[str, Any]]]] = field(default_factory=dict)
    behaviour: list[Behaviour] = field(default_factory=list)
    links: list[tuple[int, str, str]] = field(default_factory=list)  # (index, user id, anonymous id)
    rejections: list[Rejection] = field(default_factory=list)
    people: dict[int, tuple[str | None, str | None]] = field(default_factory=dict)  # ids per message
    ignored: int = 0

    @property
    def weight(self) -> int:
        """Records to write (what a group commit's size is measured in)."""
        return max(
            1,
            len(self.experiences)
            + sum(len(v) for v in self.outcomes.values())
            + len(self.behaviour)
            + len(self.rejections),
        )
