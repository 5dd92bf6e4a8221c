"""Typed shape of `gapwatch.yaml`: silos, lifecycle, moments, metrics, expectations, sources.

Field-level rules live on the models; rules that cross sections (a stage's silo must be
declared, an expectation must name a metric of its moment, …) live in ``validate.py`` so
that every problem is reported at once with its YAML path.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from gapwatch.config.base import Key, Strict
from gapwatch.config.collect import TrackingSource, WebhookSource

KanoClass = Literal["must-be", "one-dimensional", "attractive"]


class AcceptSection(Strict):
    """Event times accepted at ingest; outside them an experience is rejected with a reason."""

    ahead_hours: float = Field(48.0, ge=0.0, le=24.0 * 366, description="How far ahead of the clock.")
    history_days: int = Field(3650, ge=0, le=36_500, description="How far before the workspace's start.")


class WorkspaceSection(Strict):
    name: str = "gapwatch workspace"
    timezone: str = "UTC"
    period: Literal["day", "week"] = "day"
    accept: AcceptSection = Field(default_factory=lambda: AcceptSection.model_validate({}))
    id_case: Literal["lower", "keep"] = "lower"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


class Silo(Strict):
    name: str
    description: str = ""


class Segment(Strict):
    name: str
    description: str = ""


class Metric(Strict):
    unit: str
    direction: Literal["higher", "lower"]
    kind: Literal["measure", "rating", "rate"] = "measure"
    scale: tuple[float, float] | None = None
    range: tuple[float, float] | None = None  # the values it may take (else scale, else a physical bound)
    description: str = ""

    @model_validator(mode="after")
    def _bounds_are_finite(self) -> Metric:
        for name in ("scale", "range"):
            bounds = getattr(self, name)
            if bounds is not None and not (math.isfinite(bounds[0]) and math.isfinite(bounds[1])):
                raise ValueError(f"{name} must be two finite numbers")
            if bounds is not None and not bounds[0] < bounds[1]:
                raise ValueError(f"{name} must run from a lower to a higher number")
        return self


class Moment(Strict):
    key: Key
    name: str = ""
    metrics: list[Key] = Field(min_length=1)


class Stage(Strict):
    stage: Key
    silo: Key
    moments: list[Moment] = Field(default_factory=list)


class Expectation(Strict):
    """A zone of tolerance for one moment x segment x metric, valid over [valid_from, valid_to)."""

    moment: Key
    metric: Key
    segment: str = "all"
    adequate: float
    desired: float
    kano: KanoClass = "one-dimensional"
    valid_from: dt.date = dt.date(2000, 1, 1)
    valid_to: dt.date | None = None
    note: str = ""

    @model_validator(mode="after")
    def _zone_has_width(self) -> Expectation:
        if self.adequate == self.desired:
            raise ValueError("adequate and desired must differ (the zone of tolerance needs a width)")
        if self.valid_to is not None and self.valid_to <= self.valid_from:
            raise ValueError("valid_to must be after valid_from")
        return self


TimeUnit = Literal["days", "hours", "minutes", "seconds"]
UNIT_SECONDS: dict[str, float] = {"days": 86400.0, "hours": 3600.0, "minutes": 60.0, "seconds": 1.0}


class FieldSpec(Strict):
    """Where one experience field comes from: a column (optionally mapped or scaled), a constant,
    or a value derived from two time columns.

    * ``between: [start, end]`` is the time from ``start`` to ``end`` in ``unit`` (days by
      default): a duration from two timestamps, e.g. ordered → delivered. As an ``expected``
      it states a promise in time (ordered → promised): ``end`` is then the moment the promise
      falls due, and an experience whose own end is still empty is an *open promise*.
    * ``late: [promise, outcome]`` is 1 when ``outcome`` came after ``promise`` and 0 otherwise
      (a late/on-time status when only the two times are exported); an empty ``outcome`` is an
      open promise too.
    * ``labels: auto`` (segments only) takes the segment labels from the data instead of the
      declared list, at most ``max`` of them per source.
    """

    column: str | None = Field(None, min_length=1)
    value: Any = None
    between: tuple[str, str] | None = None
    late: tuple[str, str] | None = None
    unit: TimeUnit | None = None
    map: dict[str, Any] | None = None
    default: Any = None
    scale: float | None = None
    format: str | None = None
    labels: Literal["auto"] | None = None
    max: int = Field(100, ge=1, le=10_000)

    @model_validator(mode="after")
    def _column_or_value(self) -> FieldSpec:
        given = [k for k in ("column", "value", "between", "late") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of 'column', 'value', 'between' or 'late'")
        derived = self.between is not None or self.late is not None
        if self.unit is not None and self.between is None:
            raise ValueError("'unit' goes with 'between' (the span's unit)")
        if derived and (self.map is not None or self.default is not None):
            raise ValueError("'map' and 'default' do not apply to a value derived from two times")
        if self.labels is not None and self.column is None:
            raise ValueError("'labels: auto' needs a 'column' to read the labels from")
        return self

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column of the file this field reads."""
        if self.column is not None:
            return (self.column,)
        return self.between or self.late or ()

    @property
    def derived(self) -> bool:
        """A value computed from two time columns (``between`` or ``late``)."""
        return self.between is not None or self.late is not None


def _as_field(raw: Any) -> Any:
    """A bare string is shorthand for {column: NAME}."""
    if isinstance(raw, str):
        return {"column": raw}
    return raw


class ExperienceSpec(Strict):
    metric: FieldSpec
    value: FieldSpec
    expected: FieldSpec | None = None
    optional: bool = False

    @field_validator("metric", mode="before")
    @classmethod
    def _metric_shorthand(cls, raw: Any) -> Any:
        # Here a bare string names the metric itself, not a column.
        return {"value": raw} if isinstance(raw, str) else raw

    @field_validator("value", "expected", mode="before")
    @classmethod
    def _shorthand(cls, raw: Any) -> Any:
        return _as_field(raw)


class Source(Strict):
    """How one exported file's rows become experience records (or outcomes)."""

    description: str = ""
    kind: Literal["experience", "outcome"] = "experience"
    format: Literal["csv", "parquet", "jsonl"] | None = None
    event_id: list[str]
    customer_id: FieldSpec | None = None
    anonymous_id: FieldSpec | None = None
    occurred_at: FieldSpec
    moment: FieldSpec | None = None
    segment: FieldSpec | None = None
    experiences: list[ExperienceSpec] = Field(default_factory=list)
    text: FieldSpec | None = None
    attributes: list[str] = Field(default_factory=list)
    outcome: Key | None = None
    value: FieldSpec | None = None
    moments: list[Key] | None = None  # what it may post (else what its mapping yields)
    id_case: Literal["lower", "keep"] | None = None  # identifiers' case rule (else the workspace's)

    @field_validator("event_id", mode="before")
    @classmethod
    def _event_id_columns(cls, raw: Any) -> Any:
        return [raw] if isinstance(raw, str) else raw

    @field_validator(
        "customer_id", "anonymous_id", "occurred_at", "moment", "segment", "text", "value", mode="before"
    )
    @classmethod
    def _shorthand(cls, raw: Any) -> Any:
        return _as_field(raw)

    @model_validator(mode="after")
    def _derived_fields(self) -> Source:
        for name in ("customer_id", "anonymous_id", "occurred_at", "moment", "segment", "text", "value"):
            spec = getattr(self, name)
            if spec is None:
                continue
            if spec.derived:
                raise ValueError(
                    f"'{name}' is one column or a constant: 'between' and 'late' derive experience "
                    "values and stated expectations"
                )
            if spec.labels is not None and name != "segment":
                raise ValueError(f"'labels: auto' is for the segment, not '{name}'")
        for i, entry in enumerate(self.experiences):
            if entry.metric.derived or entry.metric.labels is not None:
                raise ValueError(f"experiences[{i}].metric is a metric name, a column or a map")
            if entry.value.labels is not None or (entry.expected and entry.expected.labels is not None):
                raise ValueError(f"experiences[{i}]: 'labels' is for the segment only")
            if entry.expected is not None and entry.expected.late is not None:
                raise ValueError(f"experiences[{i}].expected: a stated expectation is a number or 'between'")
        return self

    @model_validator(mode="after")
    def _kind_fields(self) -> Source:
        if not self.event_id:
            raise ValueError("event_id needs at least one column")
        if self.customer_id is None and self.anonymous_id is None:
            raise ValueError("map customer_id or anonymous_id (an experience belongs to someone)")
        if self.kind == "experience":
            if self.moment is None:
                raise ValueError("an experience source needs 'moment'")
            if not self.experiences:
                raise ValueError("an experience source needs at least one entry in 'experiences'")
        elif self.outcome is None or self.value is None:
            raise ValueError("an outcome source needs 'outcome' and 'value'")
        return self


class MethodOverride(Strict):
    moment: Key
    metric: Key | None = None
    segment: str | None = None
    method: Literal["auto", "p", "pprime", "ewma", "bcusum", "g", "cusum"]
    period: Literal["day", "week"] | None = None  # the chart's period (default: chosen by volume)


class EwmaSection(Strict):
    lambda_: float = Field(0.2, alias="lambda", gt=0.0, le=1.0)


class CalendarEffect(Strict):
    """Known calendar variation: days on which the expected miss rate differs (a sale, a holiday).

    With ``factor`` the expected miss rate of those days is the baseline's times ``factor`` (what
    last year's peak showed); without it the days are not judged and stay out of baselines.
    ``yearly`` repeats the month-day range every year; ``moments`` limits it to some moments.
    """

    name: str
    start: dt.date
    end: dt.date
    factor: float | None = Field(None, gt=0.0, le=20.0)
    yearly: bool = False
    moments: list[Key] | None = None

    @model_validator(mode="after")
    def _ordered(self) -> CalendarEffect:
        if self.end < self.start:
            raise ValueError("end must not be before start")
        return self


class DetectionSection(Strict):
    """How streams are judged: baselines, known variation, false-alarm budget, alert episodes.

    A stream's baseline is, by default, the first window from its first event that spans at
    least ``baseline_days`` days and holds ``baseline_events`` events and ``baseline_misses``
    misses (or ``baseline_events_rare`` events when misses are rare); ``baseline_start`` fixes
    the window to ``[baseline_start, baseline_start + baseline_days)`` instead.
    """

    baseline_days: int = Field(28, ge=7)
    baseline_start: dt.date | None = None
    baseline_events: int = Field(20, ge=5, le=100_000)
    baseline_misses: int = Field(5, ge=0, le=10_000)
    baseline_events_rare: int = Field(250, ge=5, le=1_000_000)
    false_alarms_per_week: float = Field(1.0, gt=0.0)
    min_arl0_weeks: float = Field(52.0, ge=0.0, le=5200.0)
    weekday: Literal["auto", "off"] = "auto"
    calendar: list[CalendarEffect] = Field(default_factory=list)
    episode_days: int = Field(28, ge=1, le=365)
    lock_in_weeks: int = Field(8, ge=0, le=520)
    method: Literal["auto", "p", "pprime", "ewma", "bcusum", "g", "cusum"] = "auto"
    ewma: EwmaSection = Field(default_factory=lambda: EwmaSection.model_validate({}))
    overrides: list[MethodOverride] = Field(default_factory=list)


class Dimension(Strict):
    name: str
    description: str = ""


def _servqual() -> dict[str, Dimension]:
    # Parasuraman, Zeithaml & Berry (1988): the five SERVQUAL dimensions
    return {
        "tangibles": Dimension(name="Tangibles", description="Facilities, equipment, appearance"),
        "reliability": Dimension(name="Reliability", description="Doing what was promised, dependably"),
        "responsiveness": Dimension(name="Responsiveness", description="Willingness to help, promptly"),
        "assurance": Dimension(name="Assurance", description="Knowledge and courtesy that inspire trust"),
        "empathy": Dimension(name="Empathy", description="Caring, individual attention"),
    }


class PerspectivesSection(Strict):
    """Perception surveys of customers, employees and leaders on the same quality dimensions."""

    dimensions: dict[Key, Dimension] = Field(default_factory=_servqual)
    scale: tuple[float, float] = (1.0, 7.0)
    period: Literal["month", "quarter"] = "quarter"

    @model_validator(mode="after")
    def _scale_order(self) -> PerspectivesSection:
        if not self.scale[0] < self.scale[1]:
            raise ValueError("scale must be [low, high] with low < high")
        if not self.dimensions:
            raise ValueError("at least one dimension is needed")
        return self


RulePatterns = dict[str, dict[str, list[str]]]  # kind (emotion / intent) -> label -> regular expressions


class TextSection(Strict):
    """Free-text comments: candidate languages, rule overrides per language, text streams."""

    languages: list[Annotated[str, Field(pattern=r"^[a-z]{2}$")]] = Field(
        default_factory=lambda: ["en", "pt", "es", "fr", "de", "it", "nl"], min_length=1
    )
    rules: dict[Annotated[str, Field(pattern=r"^[a-z]{2}$")], RulePatterns] = Field(default_factory=dict)
    streams: list[Key] = Field(default_factory=lambda: ["negative", "complaint"])

    @model_validator(mode="after")
    def _patterns_compile(self) -> TextSection:
        import re

        for lang, kinds in self.rules.items():
            for kind, labels in kinds.items():
                if kind not in ("emotion", "intent"):
                    raise ValueError(f"rules.{lang}: {kind!r} is not 'emotion' or 'intent'")
                for name, patterns in labels.items():
                    for p in patterns:
                        try:
                            re.compile(p)
                        except re.error as exc:
                            raise ValueError(
                                f"rules.{lang}.{kind}.{name}: bad pattern {p!r} ({exc})"
                            ) from None
        return self


class RiskSection(Strict):
    """The journey model behind outcome risk: its default outcome and how often a service retrains it."""

    outcome: Key = "nps"
    positive: str | None = Field(None, max_length=64)  # None: "<=6" for nps, else the rarer class
    retrain_every_days: float = Field(7.0, ge=0, le=366)  # 0: retrain only on request


class WorkspaceConfig(Strict):
    """The whole of `gapwatch.yaml`, after validation."""

    version: Literal[1] = 1
    workspace: WorkspaceSection = Field(default_factory=WorkspaceSection)
    silos: dict[Key, Silo]
    segments: dict[Key, Segment] = Field(default_factory=dict)
    metrics: dict[Key, Metric]
    lifecycle: list[Stage] = Field(min_length=1)
    expectations: list[Expectation] = Field(default_factory=list)
    sources: dict[Key, Source] = Field(default_factory=dict)
    tracking: dict[Key, TrackingSource] = Field(default_factory=dict)
    webhooks: dict[Key, WebhookSource] = Field(default_factory=dict)
    detection: DetectionSection = Field(default_factory=DetectionSection)
    perspectives: PerspectivesSection = Field(default_factory=PerspectivesSection)
    text: TextSection = Field(default_factory=TextSection)
    risk: RiskSection = Field(default_factory=RiskSection)

    @property
    def intake_names(self) -> list[str]:
        """Every declared name data arrives under: file/event sources, tracking sources, survey webhooks."""
        return sorted({*self.sources, *self.tracking, *self.webhooks})
