"""Request and response schemas of the insight routes: perspectives, risk, drivers, text."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictFloat


class Public(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ScorePublic(Public):
    dimension: str
    silo: str
    period: str
    perspective: str
    kind: str
    mean: float
    low: float | None
    high: float | None
    respondents: int


class GapPublic(Public):
    dimension: str
    silo: str
    period: str
    gap: str = Field(description="leader-customer, employee-customer or 'P-E <perspective>'.")
    estimate: float
    low: float | None
    high: float | None
    n: list[int]
    significant: bool
    widening: bool


class PerspectivesPublic(BaseModel):
    answers: int
    respondents: dict[str, int]
    scores: list[ScorePublic]
    gaps: list[GapPublic]


class AnswerCreate(BaseModel):
    """One perception survey answer (validated like a file row; a bad one is rejected with its reason)."""

    model_config = ConfigDict(extra="forbid")

    respondent_id: str | None = Field(None, max_length=256)
    perspective: str | None = Field(None, max_length=64)
    silo: str | None = Field(None, max_length=128)
    dimension: str | None = Field(None, max_length=128)
    item: str | None = Field(None, max_length=256)
    kind: str | None = Field(None, max_length=8)
    score: StrictFloat | Annotated[str, Field(max_length=64)] | None = None
    answered_at: str | None = Field(None, max_length=64)


class AnswersCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str = Field("perceptions", min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")
    answers: list[AnswerCreate] = Field(min_length=1, max_length=10_000)


class CountsPublic(BaseModel):
    received: int
    accepted: int
    duplicate: int
    rejected: int
    reasons: dict[str, int]


class ReasonPublic(Public):
    moment: str
    silo: str | None
    misses: int
    worst_gap: float
    risk_drop: float = Field(description="How much lower the risk would be had this moment gone as expected.")


class RiskPublic(BaseModel):
    customer_id: str | None
    risk: float | None = Field(description="P(outcome) from the events so far; null before a model exists.")
    flagged: bool
    as_of: str | None
    reasons: list[ReasonPublic]
    note: str | None = None


class RiskListPublic(BaseModel):
    threshold: float | None
    scored: int
    at_risk: list[RiskPublic]
    note: str | None = None
    scored_at: str | None = Field(None, description="When the listed scoring was made.")
    refreshing: bool = Field(False, description="A newer scoring (events arrived since) is being made.")


class ModelPublic(BaseModel):
    """The journey model in use, and the last retraining job."""

    state: Literal["none", "running", "ready", "failed"]
    answers: int | None = None
    threshold: float | None = None
    precision: float | None = None
    moments: list[str] = Field(default_factory=list)
    text_model: bool = False
    trained_at: str | None = None
    error: str | None = None
    last_trigger: Literal["request", "schedule"] | None = Field(
        None, description="What started the last retraining."
    )
    next_retraining: str | None = Field(
        None,
        description="When the service retrains next (risk.retrain_every_days after trained_at; null: off).",
    )


class DriverPublic(BaseModel):
    name: str
    importance: float
    ci: list[float]


class WhatIfPublic(Public):
    moment: str
    miss_rate: float
    expected_rate: float
    change: float
    low: float
    high: float


class DriversPublic(BaseModel):
    outcome: str
    positive: str | None
    answers: int
    drivers: list[DriverPublic]
    what_if: list[WhatIfPublic]
    note: str | None = Field(None, description="Why there are no drivers yet (too few answers).")


class TextMomentPublic(BaseModel):
    moment: str
    silo: str
    comments: int
    negative_share: float | None
    mean_sentiment: float | None
    mean_learned: float | None
    labels: dict[str, int]


class TextSummaryPublic(BaseModel):
    comments: int
    languages: dict[str, int] = Field(default_factory=dict)
    moments: list[TextMomentPublic]


class TextRunPublic(BaseModel):
    comments: int
    languages: dict[str, int]
    sentiments: dict[str, int]
    labels: dict[str, int]
    stream_rows: int


PeriodChoice = Literal["month", "quarter"]
