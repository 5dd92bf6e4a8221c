"""Typed shape of `gapwatch.yaml`: silos, lifecycle, moments, metrics, expectations, sources.

Field-level rules live on the models; rules that cross sections (a stage's silo must be
declared, an expectation must name a metric of its moment, …) live in ``validate.py`` so
that every problem is reported at once with its YAML path.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Key = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
KanoClass = Literal["must-be", "one-dimensional", "attractive"]


class Strict(BaseModel):
    """Unknown keys are errors: a typo in the YAML must not be silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class WorkspaceSection(Strict):
    name: str = "gapwatch workspace"
    timezone: str = "UTC"
    period: Literal["day", "week"] = "day"

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
    description: str = ""


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


class FieldSpec(Strict):
    """Where one experience field comes from: a column (optionally mapped or scaled) or a constant."""

    column: str | None = None
    value: Any = None
    map: dict[str, Any] | None = None
    default: Any = None
    scale: float | None = None
    format: str | None = None

    @model_validator(mode="after")
    def _column_or_value(self) -> FieldSpec:
        if (self.column is None) == (self.value is None):
            raise ValueError("give exactly one of 'column' or 'value'")
        return self


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


class EwmaSection(Strict):
    lambda_: float = Field(0.2, alias="lambda", gt=0.0, le=1.0)


class DetectionSection(Strict):
    baseline_days: int = Field(28, ge=7)
    baseline_start: dt.date | None = None
    false_alarms_per_week: float = Field(1.0, gt=0.0)
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
    detection: DetectionSection = Field(default_factory=DetectionSection)
    perspectives: PerspectivesSection = Field(default_factory=PerspectivesSection)
    text: TextSection = Field(default_factory=TextSection)
    risk: RiskSection = Field(default_factory=RiskSection)
