"""The experience record's rules: limits, why a row is rejected, and what an ingest counts.

These are the values every face shares (file ingest, the HTTP API, Python tables): the
limits of DESIGN.md's experience record, one stable code per rejection reason with the
sentence a person reads, and the counts an ingest reports. No I/O here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from gapwatch.config.schema import Source, WorkspaceConfig
from gapwatch.domain.bounds import EventWindow, IdCase, value_domains

MAX_EVENT_ID = 128
MAX_TEXT = 4000
ALL_SEGMENTS = "all"
EVENT_ID_JOIN = "|"  # joins the parts of a multi-column event id
METRIC_SUFFIX = ":"  # "<event id>:<metric>" when one row yields several experiences
KEY_CHARS = 32  # hex characters kept of a keyed pseudonymous id (128 bits)

Layout = Literal["columns", "jsonl"]


class RejectCode(StrEnum):
    """Why an experience (or a whole row) could not be used; the codes are stored."""

    MALFORMED_ROW = "malformed_row"
    NOT_JSON = "not_json"
    BAD_TYPE = "bad_type"
    MISSING_EVENT_ID = "missing_event_id"
    EVENT_ID_TOO_LONG = "event_id_too_long"
    ID_TOO_LONG = "id_too_long"
    MISSING_CUSTOMER = "missing_customer"
    MISSING_TIMESTAMP = "missing_timestamp"
    BAD_TIMESTAMP = "bad_timestamp"
    TOO_EARLY = "occurred_too_early"
    IN_FUTURE = "occurred_in_future"
    UNMAPPED_LABEL = "unmapped_label"
    UNKNOWN_MOMENT = "unknown_moment"
    MOMENT_NOT_ALLOWED = "moment_not_allowed"
    UNKNOWN_SEGMENT = "unknown_segment"
    BAD_SEGMENT = "bad_segment"
    TOO_MANY_SEGMENTS = "too_many_segments"
    UNKNOWN_METRIC = "unknown_metric"
    MISSING_VALUE = "missing_value"
    BAD_VALUE = "bad_value"
    VALUE_OUT_OF_RANGE = "value_out_of_range"
    NEGATIVE_SPAN = "negative_span"
    BAD_EXPECTED = "bad_expected"
    EXPECTED_OUT_OF_RANGE = "expected_out_of_range"
    TEXT_TOO_LONG = "text_too_long"
    NO_EXPERIENCE = "no_experience"
    NO_EXPECTATION = "no_expectation"
    CONFLICT = "conflict"
    ERASED_CUSTOMER = "erased_customer"  # counted, never stored: the customer asked to be forgotten


JsonType = Literal["string", "number", "object"]
# The experience record's JSON types (DESIGN.md); null or absent is always allowed here
# (a required field that is missing gets its own code).
RECORD_TYPES: dict[str, JsonType] = {
    "event_id": "string",
    "customer_id": "string",
    "anonymous_id": "string",
    "occurred_at": "string",
    "moment": "string",
    "metric": "string",
    "segment": "string",
    "text": "string",
    "value": "number",
    "expected": "number",
    "attributes": "object",
}


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """What a workspace declares: moments with their metrics, segments, metric directions."""

    moment_metrics: dict[str, tuple[str, ...]]
    segments: tuple[str, ...]
    directions: dict[str, str]
    owners: dict[str, tuple[str, str]]  # moment -> (stage, silo)
    domains: dict[str, tuple[float, float]] = field(default_factory=dict)  # metric -> (low, high)

    @classmethod
    def from_config(cls, config: WorkspaceConfig) -> Vocabulary:
        """Collect the declared names of a validated configuration.

        Examples
        --------
        >>> from gapwatch.config import default_config
        >>> v = Vocabulary.from_config(default_config())
        >>> v.moment_metrics["support_ticket"], "all" in v.segments
        (('first_response_hours', 'csat'), True)
        """
        moments = {m.key: tuple(m.metrics) for stage in config.lifecycle for m in stage.moments}
        return cls(
            moment_metrics=moments,
            segments=(ALL_SEGMENTS, *config.segments),
            directions={name: metric.direction for name, metric in config.metrics.items()},
            owners={m.key: (stage.stage, stage.silo) for stage in config.lifecycle for m in stage.moments},
            domains=value_domains(config),
        )


@dataclass(slots=True)
class IngestCounts:
    """Counts of experiences: ``received == accepted + duplicate + rejected`` always holds."""

    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    updated: int = 0  # of the accepted: open promises whose outcome (or new promise) replaced them
    rows: int = 0
    chunks: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def received(self) -> int:
        return self.accepted + self.duplicate + self.rejected

    def add(self, other: IngestCounts) -> None:
        """Fold another chunk's counts into these."""
        self.accepted += other.accepted
        self.duplicate += other.duplicate
        self.rejected += other.rejected
        self.updated += other.updated
        self.rows += other.rows
        self.chunks += other.chunks
        for code, n in other.reasons.items():
            self.reasons[code] = self.reasons.get(code, 0) + n

    def as_dict(self) -> dict[str, object]:
        return {
            "accepted": self.accepted,
            "duplicate": self.duplicate,
            "rejected": self.rejected,
            "received": self.received,
            "updated": self.updated,
            "rows": self.rows,
            "reasons": dict(sorted(self.reasons.items())),
        }


@dataclass(frozen=True, slots=True)
class IngestJob:
    """One file (or table) to ingest with one source mapping.

    ``layout`` is ``columns`` when each mapped column is a column of the chunk, ``jsonl``
    when each chunk row is one raw JSON line (``__gw_line``) still to be parsed.
    ``closed_through`` is the last period already closed by the monitor: experiences of
    that day or earlier are stored flagged ``late``. ``window`` bounds the event times
    accepted (none: any). ``types`` are JSON types the cells must have (the API's
    experience record: :data:`RECORD_TYPES`); ``moments`` the moments the source may post
    (none: any); ``id_case`` how its identifiers are normalised; ``as_of`` the clock open
    promises are judged by (none: now).
    """

    source_name: str
    source: Source
    vocabulary: Vocabulary
    file: str
    layout: Layout = "columns"
    closed_through: dt.date | None = None
    window: EventWindow | None = None
    types: tuple[tuple[str, JsonType], ...] = ()
    moments: tuple[str, ...] | None = None
    id_case: IdCase = "lower"
    as_of: dt.datetime | None = None  # the clock open promises are judged by (None: now)


def pseudonym(secret: bytes, identifier: str) -> str:
    """The keyed pseudonymous id of a real identifier: HMAC-SHA256, truncated hex.

    Examples
    --------
    >>> pseudonym(b"workspace secret", "C-1042")
    'e6438c01dc048f3d118999a6813100a2'
    """
    return hmac.new(secret, identifier.encode("utf-8"), hashlib.sha256).hexdigest()[:KEY_CHARS]


@dataclass(frozen=True, slots=True)
class MalformedRow:
    """A row the file reader could not split into the header's columns."""

    row_number: int | None
    text: str
    reason: str


@dataclass(frozen=True, slots=True)
class ExpectationVersion:
    """One stored version of a zone of tolerance; ``id`` is what scored experiences keep.

    The key is (moment, segment, metric, valid_from); a changed content under the same key
    is a new version, and the one it replaces gets ``superseded_at``.
    """

    id: int
    moment: str
    segment: str
    metric: str
    version: int
    adequate: float
    desired: float
    direction: str
    unit: str
    kano: str
    valid_from: dt.date
    valid_to: dt.date | None
    recorded_at: dt.datetime | None = None
    superseded_at: dt.datetime | None = None

    @property
    def key(self) -> tuple[str, str, str, dt.date]:
        return (self.moment, self.segment, self.metric, self.valid_from)

    @property
    def content(self) -> tuple[float, float, str, str, str, dt.date | None]:
        return (self.adequate, self.desired, self.direction, self.unit, self.kano, self.valid_to)

    def in_force(self, day: dt.date) -> bool:
        """Whether ``day`` lies in [valid_from, valid_to)."""
        return self.valid_from <= day and (self.valid_to is None or day < self.valid_to)
