"""What collecting a request gives: a result per record, in the order of the request.

A request's messages (or webhook items) become records — experiences, outcomes, behaviour —
and each record gets one result, as ``POST /v1/events`` gives one per event: ``received ==
accepted + duplicate + rejected``. A message that could not be read at all is one rejected
record. Webhook items another event than the mapping's are acknowledged and counted as
``ignored``, not received.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["experience", "outcome", "behaviour"]
Status = Literal["accepted", "duplicate", "rejected"]
SUPPRESSED = "erased_customer"
SUPPRESSED_REASON = "the customer was erased; events for them are suppressed"
# Reject codes of the collect room (besides the experience record's, domain.experience.RejectCode).
CODES = (
    "not_json",
    "unknown_type",
    "bad_id",
    "missing_customer",
    "missing_event",
    "bad_name",
    "bad_properties",
    "bad_timestamp",
    "missing_timestamp",
    "missing_event_id",
    "event_id_too_long",
    "no_experience",
    SUPPRESSED,
)


@dataclass(frozen=True, slots=True)
class Rejection:
    """A message (or webhook item) that could not be used, kept with its reason."""

    index: int
    event_id: str | None
    raw: Any
    code: str
    reason: str
    user_id: str | None = None
    anonymous_id: str | None = None
    kind: Kind = "behaviour"


@dataclass(frozen=True, slots=True)
class ItemResult:
    index: int  # the message's (or item's) position in the request
    event_id: str | None
    kind: Kind
    status: Status
    reason_code: str | None = None
    reason: str | None = None


@dataclass(slots=True)
class CollectAnswer:
    """Per-record results of one request."""

    source: str
    messages: int
    results: list[ItemResult] = field(default_factory=list)
    ignored: int = 0

    def count(self, status: Status) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def received(self) -> int:
        return len(self.results)

    def public(self) -> dict[str, Any]:
        """The answer's JSON body (``success`` is what the tracking SDKs look for)."""
        return {
            "success": True,
            "source": self.source,
            "messages": self.messages,
            "received": self.received,
            "accepted": self.count("accepted"),
            "duplicate": self.count("duplicate"),
            "rejected": self.count("rejected"),
            "ignored": self.ignored,
            "results": [
                {
                    "index": r.index,
                    "event_id": r.event_id,
                    "kind": r.kind,
                    "status": r.status,
                    "reason_code": r.reason_code,
                    "reason": r.reason,
                }
                for r in sorted(self.results, key=lambda r: r.index)
            ],
        }
