"""Request and response schemas of the HTTP API, kept apart from the domain objects.

``*Create`` / ``*Update`` are what clients send, ``*Public`` what the API answers. Every
error answer, whatever its status, is an :class:`ErrorPublic`.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field, JsonValue, PlainValidator

from gapwatch.domain.access import Role
from gapwatch.domain.alerts import AlertState, Severity, Verdict
from gapwatch.domain.cases import ActionKind, CaseAction, CaseState
from gapwatch.quality.webhooks import WebhookKind

Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
KeyFilter = Annotated[str | None, Query(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]


class Public(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ErrorDetail(BaseModel):
    loc: list[str | int] = Field(default_factory=list, description="Where in the request the problem is.")
    msg: str
    type: str


class ErrorPublic(BaseModel):
    """Every error answer: a stable code, a sentence for people, and details when useful."""

    code: str = Field(description="Stable machine-readable error code.", examples=["not_found"])
    message: str
    details: list[ErrorDetail] = Field(default_factory=list)


# ---- events ------------------------------------------------------------------------------------------


class EventRecord(BaseModel):
    """One experience record (DESIGN.md). Each field is checked by the ingest path itself, so a
    bad value rejects that event with a reason instead of failing the whole batch."""

    model_config = ConfigDict(extra="allow")

    event_id: JsonValue = Field(None, description="Required; ≤ 128 characters; unique per source.")
    customer_id: JsonValue = Field(None, description="Customer id; this or anonymous_id is required.")
    anonymous_id: JsonValue = Field(None, description="Anonymous id (prospects).")
    occurred_at: JsonValue = Field(None, description="ISO 8601; naive times are read in the workspace zone.")
    moment: JsonValue = Field(None, description="A moment-of-truth key of gapwatch.yaml.")
    metric: JsonValue = Field(None, description="A metric of that moment.")
    value: JsonValue = Field(None, description="The observed value (a number).")
    segment: JsonValue = Field(None, description="Optional segment; default from attributes or 'all'.")
    expected: JsonValue = Field(None, description="Optional stated expectation (replaces adequate).")
    text: JsonValue = Field(None, description="Optional comment, ≤ 4,000 characters.")
    attributes: JsonValue = Field(None, description="Optional object, kept as JSON.")


def _event_object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError("an event is a JSON object")
    return value


# Documented as an EventRecord, validated only as a JSON object: every EventRecord field takes
# any JSON value (the ingest path judges each one), so building 1,000 models per request would
# check nothing and cost more than the rest of the request. The dict is the posted object as is.
EventObject = Annotated[dict[str, Any], PlainValidator(_event_object, json_schema_input_type=EventRecord)]


class EventBatchCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: Name | None = Field(
        None,
        description="Source of the events; an ingest key's own source when omitted (required for admin).",
    )
    # The most events per request is the service's setting (``max_batch_events``, 1,000 by
    # default): more is 413, checked by the route, so the schema sets no maximum of its own.
    events: list[EventObject] = Field(min_length=1, description="At most `max_batch_events` (1,000).")


EventStatus = Literal["accepted", "duplicate", "rejected"]


class EventResultPublic(BaseModel):
    index: int = Field(description="Position of the event in the request.")
    event_id: str | None
    status: EventStatus
    reason_code: str | None = None
    reason: str | None = None


class EventBatchPublic(BaseModel):
    """``received == accepted + duplicate + rejected``; every event has one result, in request order."""

    source: str
    received: int
    accepted: int
    duplicate: int
    rejected: int
    results: list[EventResultPublic]


class FileIngestPublic(BaseModel):
    """A file ingested through the server: ``received == accepted + duplicate + rejected``."""

    source: str
    file: str
    received: int
    accepted: int
    duplicate: int
    rejected: int
    rows: int
    reasons: dict[str, int]
    seconds: float


# ---- alerts ------------------------------------------------------------------------------------------


class AlertPublic(Public):
    """An alert that explains itself."""

    id: str
    case_id: str
    silo: str
    stage: str
    moment: str
    segment: str
    metric: str
    stream: str = Field(description="moment/segment/metric")
    period: dt.date
    rule: str = Field(description="The rule that fired.")
    chart: str = Field(description="The chart (method) that watched the stream.")
    statistic: float
    center: float | None
    lcl: float | None
    ucl: float | None
    n: int = Field(description="Sample size of the judged period.")
    baseline_start: dt.date | None
    baseline_end: dt.date | None
    provisional: bool = Field(description="Judged on a partial period.")
    arl0: float | None = Field(description="Designed in-control average run length (periods).")
    false_alarm_rate: float = Field(description="Designed false alarms per period (1/ARL₀).")
    adequate: float | None = Field(description="The expectation's adequate level.")
    desired: float | None = Field(description="The expectation's desired level.")
    kano: str | None = Field(description="Kano class of the expectation.")
    severity: Severity
    state: AlertState
    verdict: Verdict | None
    verdict_by: str | None
    verdict_at: dt.datetime | None
    created_at: dt.datetime
    signals: int = Field(1, description="Signals it took in: it grows while the stream stays out of control.")
    last_period: dt.date | None = Field(None, description="Its latest signal's period.")
    segments: str | None = Field(None, description="Segments its signals came from (comma-separated).")


class AlertListPublic(BaseModel):
    items: list[AlertPublic]
    count: int


class RejectedPublic(BaseModel):
    """One refused row: where it came from, why, and the cell that was refused."""

    model_config = ConfigDict(from_attributes=True)
    source: str
    file: str
    row_number: int | None = Field(description="As a person finds it: in CSV the header is row 1.")
    event_id: str | None
    reason_code: str
    reason: str = Field(description="The sentence naming the column and the bad value.")
    value: str | None = Field(description="The refused cell (None when no single cell is at fault).")
    times: int = Field(description="How often this row was refused for this reason.")
    first_seen: dt.datetime
    last_seen: dt.datetime


class RejectedListPublic(BaseModel):
    items: list[RejectedPublic]
    count: int
    reasons: dict[str, int] = Field(description="Stored rejected rows per reason code (all, not just these).")


class VerdictCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    verdict: Verdict


class FalseAlarmsPublic(Public):
    designed_per_period: float
    designed_per_week: float
    observed_per_week: float | None
    alerts: int
    marked_true: int
    marked_false: int
    unmarked: int
    weeks_observed: float


# ---- cases -------------------------------------------------------------------------------------------


class CaseEventPublic(Public):
    seq: int
    recorded_at: dt.datetime
    actor: str
    action: str
    from_state: CaseState | None
    to_state: CaseState
    detail: dict[str, str | int | float | bool | None]


class CasePublic(Public):
    id: str
    silo: str
    stage: str
    moment: str
    segment: str
    metric: str
    state: CaseState
    opened_at: dt.datetime
    updated_at: dt.datetime
    acknowledged_by: str | None
    acknowledged_at: dt.datetime | None
    cause: str | None
    action_kind: ActionKind | None
    action: str | None
    expectation_version: str | None
    verify_from: dt.date | None
    closed_at: dt.datetime | None
    reopen_count: int
    last_signal_period: dt.date | None


class CaseDetailPublic(CasePublic):
    allowed_actions: list[CaseAction]
    events: list[CaseEventPublic] = Field(description="The audit trail: who did what, when.")


class CaseListPublic(BaseModel):
    items: list[CasePublic]
    count: int


class CaseActionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["acknowledge", "record_action", "verify", "close", "comment", "rebaseline"]
    note: str | None = Field(None, max_length=4000)
    cause: str | None = Field(None, max_length=4000)
    action_kind: ActionKind | None = None
    action_text: str | None = Field(None, max_length=4000, description="What was done.")
    expectation_version: str | None = Field(None, max_length=128)
    verify_from: dt.date | None = None
    rebaseline_from: dt.date | None = Field(
        None,
        description="With `rebaseline` (or a standard change): the new normal's first day; the stream's "
        "limits start over from a baseline found from it (default: the first signal of its latest alert).",
    )


# ---- webhooks ----------------------------------------------------------------------------------------


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    silo: Name
    url: str = Field(min_length=8, max_length=2000, pattern=r"^https?://[!-~]+$")
    kind: WebhookKind = WebhookKind.JSON
    min_severity: Severity = Severity.MINOR


class WebhookPublic(Public):
    id: str
    silo: str
    url: str
    kind: WebhookKind
    min_severity: Severity
    created_by: str
    created_at: dt.datetime


class WebhookListPublic(BaseModel):
    items: list[WebhookPublic]


class DeliveryPublic(Public):
    id: str
    alert_id: str
    attempts: int
    status: str
    http_status: int | None
    error: str | None
    attempted_at: dt.datetime


class DeliveryListPublic(BaseModel):
    items: list[DeliveryPublic]


# ---- tokens ------------------------------------------------------------------------------------------


class StaffTokenCreate(BaseModel):
    """An admin, analyst or metrics token (no silo, no source); a metrics token reads /metrics only."""

    model_config = ConfigDict(extra="forbid")
    role: Literal["admin", "analyst", "metrics"]
    label: str = Field("", max_length=200)


class MemberTokenCreate(BaseModel):
    """A member of one silo: reads everything, acts on its own silo only."""

    model_config = ConfigDict(extra="forbid")
    role: Literal["member"]
    silo: Name
    label: str = Field("", max_length=200)


class IngestTokenCreate(BaseModel):
    """An ingest key: posts events for its own source only."""

    model_config = ConfigDict(extra="forbid")
    role: Literal["ingest"]
    source: Name
    label: str = Field("", max_length=200)


TokenCreate = StaffTokenCreate | MemberTokenCreate | IngestTokenCreate  # told apart by role (anyOf)


class TokenPublic(Public):
    id: str
    role: Role
    silo: str | None
    source: str | None
    label: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None


class TokenCreatedPublic(BaseModel):
    """The plain token is shown here once and never again."""

    token: str
    id: str
    role: Role


class TokenListPublic(BaseModel):
    items: list[TokenPublic]


# ---- lifecycle ---------------------------------------------------------------------------------------


class MomentPublic(BaseModel):
    key: str
    name: str
    stage: str
    silo: str
    metrics: list[str]


class StagePublic(BaseModel):
    stage: str
    silo: str
    moments: list[MomentPublic]


class LifecyclePublic(BaseModel):
    """The lifecycle map: ordered stages, owning silos, moments of truth."""

    silos: list[str]
    segments: list[str]
    stages: list[StagePublic]


# ---- customers ---------------------------------------------------------------------------------------


class JourneyStepPublic(Public):
    occurred_at: dt.datetime
    period: dt.date
    source: str
    event_id: str
    silo: str
    stage: str
    moment: str
    segment: str
    metric: str
    value: float | None = Field(description="None for an open promise (no outcome yet).")
    expected: float | None
    adequate: float
    desired: float
    gap: float | None = Field(description="Signed gap (negative is worse), in the metric's unit.")
    gap_norm: float | None = Field(description="Gap ÷ zone width: 0 at adequate, 1 at desired.")
    status: Literal["missed", "met", "exceeded", "pending"] = Field(
        description="pending: an open promise whose due time has not passed yet."
    )
    late: bool


class BehaviourStepPublic(Public):
    """A tracked call between moments of truth (a page view, an unmapped event, an identify)."""

    occurred_at: dt.datetime
    source: str
    type: str = Field(description="track, page, screen, identify, group or alias.")
    name: str | None = Field(description="The event, page or screen name.")
    message_id: str


class OutcomeStepPublic(Public):
    occurred_at: dt.datetime
    source: str
    outcome: str = Field(description="e.g. nps")
    value: float


class CustomerPublic(BaseModel):
    """One customer's journey across every silo (stitched identities included)."""

    customer_id: str
    stage_now: str | None
    silo_now: str | None
    silos: list[str] = Field(description="Silos the journey touched, in order of first touch.")
    steps: list[JourneyStepPublic]
    open_cases: list[CasePublic] = Field(
        description="Active cases on streams this customer's experiences fed."
    )
    behaviour: list[BehaviourStepPublic] = Field(
        default_factory=list,
        description="Tracked calls between the moments of truth (at most 1,000, oldest first).",
    )
    outcomes: list[OutcomeStepPublic] = Field(default_factory=list, description="Survey outcomes (NPS, ...).")


class IdentityExport(BaseModel):
    model_config = ConfigDict(extra="ignore")
    customer_key: str
    customer_id: str
    kind: str
    first_seen: dt.datetime


class ExperienceExport(BaseModel):
    model_config = ConfigDict(extra="ignore")
    source: str
    event_id: str
    occurred_at: dt.datetime
    moment: str
    segment: str
    metric: str
    value: float | None
    expected: float | None
    gap: float | None
    status: int | None
    text: str | None
    attributes: str | None = Field(description="As stored (JSON text).")
    ingested_at: dt.datetime


class OutcomeExport(BaseModel):
    model_config = ConfigDict(extra="ignore")
    source: str
    event_id: str
    occurred_at: dt.datetime
    outcome: str
    value: float


class RejectedExport(BaseModel):
    model_config = ConfigDict(extra="ignore")
    source: str
    event_id: str | None
    raw: str | None = Field(description="The raw payload as received (JSON text).")
    reason: str
    reason_code: str
    first_seen: dt.datetime
    last_seen: dt.datetime
    times: int


class BehaviourExport(BaseModel):
    model_config = ConfigDict(extra="ignore")
    source: str
    message_id: str
    type: str
    name: str | None
    occurred_at: dt.datetime
    properties: str | None = Field(description="As stored (JSON text).")
    received_at: dt.datetime


class IdentityLinkExport(BaseModel):
    model_config = ConfigDict(extra="ignore")
    anonymous_key: str
    customer_key: str
    source: str
    first_seen: dt.datetime


class CustomerExportPublic(BaseModel):
    """All personal data held about one customer."""

    customer_id: str
    identities: list[IdentityExport]
    experiences: list[ExperienceExport]
    outcomes: list[OutcomeExport]
    rejected: list[RejectedExport]
    behaviour: list[BehaviourExport] = Field(default_factory=list)
    identity_links: list[IdentityLinkExport] = Field(default_factory=list)


class ErasurePublic(Public):
    customer_id: str
    identities: int = Field(description="Identity rows deleted.")
    texts: int = Field(description="Free-text comments removed.")
    experiences_unlinked: int = Field(
        description="Experiences kept for the statistics, unlinked from the person."
    )
    outcomes_unlinked: int
    rejected: int = Field(description="Rejected raw rows deleted.")
    suppressed: bool = Field(description="Events sent again for this customer will be suppressed.")
    behaviour: int = Field(0, description="Behaviour rows deleted (tracked calls).")
    identity_links: int = Field(0, description="Identity links deleted (stitched anonymous ids).")
    compacted: bool = Field(description="The store's file was rewritten: no byte of the erased data is left.")
    seconds: float = Field(description="How long the rewrite of the store's file took.")
    extra: dict[str, int] = Field(
        default_factory=dict,
        description="Other rows removed or unlinked, by kind (text signals, perception answers).",
    )


# ---- streams and charts ------------------------------------------------------------------------------

StreamState = Literal["too thin", "in control", "signalled"]


class StreamPublic(Public):
    """A watched stream: a moment × segment × metric, or a moment as a whole (segment ``*``)."""

    id: str = Field(description="moment:segment:metric (segment `*`: the moment as a whole).")
    moment: str
    segment: str
    metric: str
    level: Literal["moment", "segment"]
    stage: str | None
    silo: str | None = Field(description="The silo that owns the moment.")
    resolution: Literal["day", "week"] | None = Field(description="Period of its charts; null: too thin.")
    method: str = Field(description="How it is watched, chosen by volume (e.g. `daily p/p′ + EWMA`).")
    state: StreamState
    since: dt.date | None = Field(description="First signal of the current episode.")
    signals: int = Field(description="Signals that the stream got worse.")
    events: int = Field(description="Scored experiences.")
    first_period: dt.date | None
    last_period: dt.date | None
    note: str = Field(
        "",
        description="Its baseline, or why it has none yet (e.g. `14 of 20 events needed for a baseline; "
        "at the current rate in about 4 days`), and what its expected level follows.",
    )
    improvements: int = Field(0, description="Signals that it got better (reported apart).")


class StreamListPublic(BaseModel):
    items: list[StreamPublic]
    count: int
    closed_through: dt.date | None = Field(description="The last closed day (later points are provisional).")


class ChartValuePublic(BaseModel):
    """One chart's point in one period: the statistic, its centre line and limits, and its flag."""

    statistic: float | None
    center: float | None
    lcl: float | None
    ucl: float | None
    signal: bool


class ChartPointPublic(Public):
    period: dt.date = Field(description="First day of the period.")
    baseline: bool = Field(description="In the baseline the limits come from (phase I).")
    n: int
    missed: int
    exceeded: int
    mean_gap: float | None = Field(description="Mean normalised gap (0 at adequate, 1 at desired).")
    p: ChartValuePublic | None = Field(description="The miss-rate chart (p or Laney p′).")
    ewma: ChartValuePublic | None = Field(description="The EWMA of the mean normalised gap.")


class ChartSignalPublic(BaseModel):
    period: dt.date = Field(description="The day the point was judged.")
    period_start: dt.date
    chart: str
    rule: str
    direction: Literal["worse", "better"]
    statistic: float
    center: float | None
    lcl: float | None
    ucl: float | None
    n: int
    provisional: bool = Field(description="Judged on a period still open.")


class StreamChartPublic(BaseModel):
    stream: StreamPublic
    p_chart: str | None = Field(description="`p` or `pprime` (Laney), null when not charted.")
    ewma_chart: str | None
    closed_through: dt.date | None
    points: list[ChartPointPublic]
    signals: list[ChartSignalPublic]
