"""Typed shape of the ``tracking:`` and ``webhooks:`` sections of `gapwatch.yaml`.

A *tracking source* receives Segment / RudderStack HTTP Tracking API messages
(``/collect/v1/...``); its ``events`` say which tracked events (and page or screen names)
are which moment of truth, and which message paths give the metric values, the stated
expectation, the segment, the text and the attributes. Events that match no entry are kept
as behaviour. A *webhook source* receives a survey or form tool's JSON deliveries
(``/collect/webhooks/{source}``); its ``answers`` turn answers into outcomes (NPS, CSAT) or
experiences at a moment. Values are named by JSON paths (:mod:`gapwatch.config.jsonpath`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, PlainSerializer, WithJsonSchema, field_validator, model_validator

from gapwatch.config.base import Key, Strict
from gapwatch.config.jsonpath import JsonPath, PathError, parse_path

MAX_EVENT_NAME = 200


def _path(raw: Any) -> JsonPath:
    if isinstance(raw, JsonPath):
        return raw
    try:
        return parse_path(raw)
    except PathError as exc:
        raise ValueError(str(exc)) from exc


def _paths(raw: Any) -> Any:
    """One path or a list of them (the first one present in the message wins)."""
    items = [raw] if isinstance(raw, str | JsonPath) else raw
    if not isinstance(items, list) or not items:
        raise ValueError("give a path or a list of paths")
    return [_path(item) for item in items]


# A path in the YAML and in the API's view of the configuration is its text.
MessagePath = Annotated[
    JsonPath,
    BeforeValidator(_path),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "description": "a JSON path, e.g. properties.delivery_days"}),
]


class PathField(Strict):
    """Where one value comes from: the first present ``path`` (mapped or scaled), or a constant."""

    path: list[MessagePath] | None = None
    value: Any = None
    map: dict[str, Any] | None = None
    default: Any = None
    scale: float | None = None

    @field_validator("path", mode="before")
    @classmethod
    def _parse(cls, raw: Any) -> Any:
        return None if raw is None else _paths(raw)

    @model_validator(mode="after")
    def _path_or_value(self) -> PathField:
        if (self.path is None) == (self.value is None):
            raise ValueError("give exactly one of 'path' or 'value'")
        return self


def _as_path_field(raw: Any) -> Any:
    """A bare string (or list of strings) is shorthand for {path: ...}."""
    if isinstance(raw, str) or (isinstance(raw, list) and all(isinstance(x, str) for x in raw)):
        return {"path": raw}
    return raw


class TrackedExperience(Strict):
    """One experience a tracked event yields: a metric of the moment and where its value is."""

    metric: Key
    value: PathField
    expected: PathField | None = None
    optional: bool = False

    @field_validator("value", "expected", mode="before")
    @classmethod
    def _shorthand(cls, raw: Any) -> Any:
        return _as_path_field(raw)


class TrackedEvent(Strict):
    """Which tracked call is a moment of truth: a ``track`` event name, or a ``page`` / ``screen`` name."""

    track: str | None = Field(None, min_length=1, max_length=MAX_EVENT_NAME)
    page: str | None = Field(None, min_length=1, max_length=MAX_EVENT_NAME)
    screen: str | None = Field(None, min_length=1, max_length=MAX_EVENT_NAME)
    moment: Key
    segment: PathField | None = None
    experiences: list[TrackedExperience] = Field(min_length=1)
    text: PathField | None = None
    attributes: list[MessagePath] = Field(default_factory=list, max_length=32)

    @field_validator("segment", "text", mode="before")
    @classmethod
    def _shorthand(cls, raw: Any) -> Any:
        return _as_path_field(raw)

    @field_validator("attributes", mode="before")
    @classmethod
    def _attribute_paths(cls, raw: Any) -> Any:
        return [] if raw is None else _paths(raw)

    @model_validator(mode="after")
    def _one_call(self) -> TrackedEvent:
        if sum(x is not None for x in (self.track, self.page, self.screen)) != 1:
            raise ValueError("name exactly one of 'track' (an event name), 'page' or 'screen' (a name)")
        return self

    @property
    def call(self) -> tuple[str, str]:
        """(message type, name) this entry matches."""
        if self.track is not None:
            return "track", self.track
        if self.page is not None:
            return "page", self.page
        assert self.screen is not None
        return "screen", self.screen


class TrackingSource(Strict):
    """A source of Segment / RudderStack tracking messages (its write keys are ingest tokens of it)."""

    description: str = ""
    events: list[TrackedEvent] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_calls(self) -> TrackingSource:
        calls = [e.call for e in self.events]
        twice = sorted({f"{t} {n!r}" for t, n in calls if calls.count((t, n)) > 1})
        if twice:
            raise ValueError(f"mapped more than once: {', '.join(twice)}")
        return self


class Signature(Strict):
    """How a webhook sender signs its deliveries (HMAC-SHA256 of the raw body).

    ``standard-webhooks`` (Formbricks, Svix, ...) signs ``{webhook-id}.{webhook-timestamp}.{body}``
    and sends ``v1,<base64>`` in ``webhook-signature``; its secret may start with ``whsec_``.
    ``hmac-sha256`` signs the body alone and sends ``<prefix><hex or base64>`` in ``header``
    (GitHub-style ``X-Hub-Signature-256: sha256=...``, Typeform ``Typeform-Signature``).
    """

    scheme: Literal["standard-webhooks", "hmac-sha256"] = "hmac-sha256"
    header: str = Field("webhook-signature", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")
    secret_file: str = Field(min_length=1, max_length=256)
    encoding: Literal["hex", "base64"] = "hex"
    prefix: str = Field("", max_length=32)
    tolerance_seconds: int = Field(300, ge=1, le=86_400)


class WhenField(Strict):
    """Only deliveries whose ``path`` holds one of ``equals`` are used; others are acknowledged, ignored."""

    path: MessagePath
    equals: list[str | int | bool] = Field(min_length=1)


class Answer(Strict):
    """One answer of a delivery: an outcome (``outcome: nps``) or an experience (``moment`` + ``metric``)."""

    value: PathField
    outcome: Key | None = None
    moment: Key | None = None
    metric: Key | None = None
    expected: PathField | None = None
    optional: bool = True  # an unanswered question yields nothing

    @field_validator("value", "expected", mode="before")
    @classmethod
    def _shorthand(cls, raw: Any) -> Any:
        return _as_path_field(raw)

    @model_validator(mode="after")
    def _outcome_or_experience(self) -> Answer:
        if (self.outcome is None) == (self.moment is None or self.metric is None):
            raise ValueError("an answer is an outcome ('outcome') or an experience ('moment' and 'metric')")
        if self.outcome is not None and (self.moment or self.metric or self.expected):
            raise ValueError("an outcome answer takes no moment, metric or expected")
        return self

    @property
    def name(self) -> str:
        """What the answer measures (its event id suffix when a delivery has several answers)."""
        return self.outcome or str(self.metric)


class WebhookSource(Strict):
    """A survey or form tool's JSON webhook: where the answers, the respondent and the time are."""

    description: str = ""
    signature: Signature | None = None
    items: MessagePath | None = None  # where a delivery's items are (a list); default: the body itself
    when: WhenField | None = None
    event_id: PathField
    customer_id: PathField | None = None
    anonymous_id: PathField | None = None
    occurred_at: PathField
    segment: PathField | None = None
    text: PathField | None = None
    answers: list[Answer] = Field(min_length=1, max_length=32)

    @field_validator(
        "event_id", "customer_id", "anonymous_id", "occurred_at", "segment", "text", mode="before"
    )
    @classmethod
    def _shorthand(cls, raw: Any) -> Any:
        return _as_path_field(raw)

    @model_validator(mode="after")
    def _someone(self) -> WebhookSource:
        if self.customer_id is None and self.anonymous_id is None:
            raise ValueError("map customer_id or anonymous_id (an answer belongs to someone)")
        names = [a.name for a in self.answers]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"answers measure the same thing twice: {', '.join(twice)}")
        return self
