"""The simulated world's knobs: segment mix, funnel, pacing, in-control quality and the NPS model.

Values are keyed by the default template's stage and moment names; a workspace with other
names falls back to the ``default_*`` entries, so any lifecycle can be simulated. Per-segment
tuples are in the order of ``SEGMENTS``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

SEGMENTS: tuple[str, ...] = ("standard", "premium", "business")
Triple = tuple[float, float, float]
Pattern = Literal["visits", "once", "recurring"]


@dataclass(frozen=True, slots=True)
class MomentPlan:
    """How often a moment of truth happens to a customer who reaches its stage.

    - ``visits``: 1 + Poisson(``extra``) events spread over the stage;
    - ``once``: one event with probability ``share`` (per segment);
    - ``recurring``: an event on entering the stage (if ``first``), then ``rate`` per week
      until the journey ends (the customer keeps using the product through later stages).
    """

    pattern: Pattern
    share: Triple = (1.0, 1.0, 1.0)
    extra: float = 0.0
    rate: Triple = (0.0, 0.0, 0.0)
    first: bool = True


def _plans() -> dict[str, MomentPlan]:
    return {
        "landing_page": MomentPlan("visits", extra=0.6),
        "content_page": MomentPlan("visits", extra=1.5),
        "pricing_page": MomentPlan("visits", extra=0.8),
        "demo_request": MomentPlan("once", share=(0.25, 0.45, 0.75)),
        "sales_call": MomentPlan("once", share=(0.35, 0.7, 0.95)),
        "quote": MomentPlan("once", share=(0.3, 0.6, 0.95)),
        "checkout": MomentPlan("once"),
        "welcome_call": MomentPlan("once", share=(0.3, 0.9, 1.0)),
        "delivery": MomentPlan("recurring", rate=(0.15, 0.25, 0.5)),
        "app_session": MomentPlan("recurring", rate=(3.0, 5.0, 9.0)),
        "support_ticket": MomentPlan("recurring", rate=(0.2, 0.3, 0.5)),
    }


def _conversion() -> dict[str, Triple]:
    # P(reach this stage | reached the previous one)
    return {
        "awareness": (1.0, 1.0, 1.0),
        "interest": (0.85, 0.88, 0.88),
        "consideration": (0.8, 0.82, 0.85),
        "evaluation": (0.7, 0.72, 0.8),
        "commitment": (0.68, 0.75, 0.75),
        "onboarding": (0.97, 0.98, 0.98),
        "fulfilment": (0.97, 0.98, 0.98),
        "usage": (0.95, 0.96, 0.97),
        "support": (0.85, 0.85, 0.9),
        "renewal": (0.8, 0.85, 0.85),
        "advocacy": (0.6, 0.7, 0.6),
    }


def _dwell() -> dict[str, Triple]:
    # mean days spent in a stage (gamma, shape 2)
    return {
        "awareness": (3, 3, 4),
        "interest": (6, 6, 8),
        "consideration": (6, 7, 9),
        "evaluation": (7, 9, 16),
        "commitment": (2, 2, 3),
        "onboarding": (3, 3, 5),
        "fulfilment": (4, 3, 5),
        "usage": (28, 28, 35),
        "support": (14, 14, 21),
        "renewal": (10, 10, 14),
        "advocacy": (5, 5, 5),
    }


def _miss() -> dict[str, float]:
    # in-control miss probability per moment:metric (before the segment factor)
    return {
        "landing_page:page_load_seconds": 0.05,
        "content_page:page_load_seconds": 0.04,
        "pricing_page:page_load_seconds": 0.05,
        "checkout:page_load_seconds": 0.03,
        "demo_request:response_hours": 0.10,
        "sales_call:call_rating": 0.08,
        "quote:quote_turnaround_hours": 0.12,
        "welcome_call:welcome_days": 0.10,
        "delivery:delivery_days": 0.11,  # olist: 11.0% delivered after the promised date
        "app_session:latency_seconds": 0.05,
        "support_ticket:first_response_hours": 0.08,
        "support_ticket:csat": 0.10,
    }


@dataclass(frozen=True, slots=True)
class NpsModel:
    """Peak-end NPS: score = base - peak*worst pain - end*last pain + bonus + noise.

    The pain of a missed experience is ``kano weight * (jump + slope * min(-normalised gap, cap))``.
    Calibrated so a late delivery costs about 1.7 points on olist's 1-5 scale (see docs/simulate.md).
    """

    base: Triple = (9.4, 9.7, 9.1)
    peak: float = 1.0
    end: float = 0.5
    jump: float = 5.3
    slope: float = 2.5
    cap: float = 3.0
    kano: tuple[tuple[str, float], ...] = (("must-be", 1.0), ("one-dimensional", 0.3), ("attractive", 0.2))
    exceeded_bonus: float = 0.4
    noise: float = 1.4
    response: Triple = (0.18, 0.24, 0.15)
    delay_days: float = 5.0


@dataclass(frozen=True, slots=True)
class Peak:
    """A holiday peak: from month/day, ``days`` long, each year: arrivals × volume, misses × miss."""

    name: str
    month: int
    day: int
    days: int
    volume: float
    miss: float


PEAKS: tuple[Peak, ...] = (
    Peak("summer sale", 6, 20, 10, 1.8, 1.3),
    Peak("black friday", 11, 24, 8, 2.5, 1.5),
    Peak("christmas", 12, 10, 14, 1.8, 1.4),
)
# Monday clears the weekend's backlog; weekends are calm (a factor on every miss probability).
WEEKDAY_MISS = (1.3, 1.1, 1.0, 0.95, 0.95, 0.85, 0.85)


@dataclass(frozen=True, slots=True)
class WorldParams:
    """Everything the generator needs besides the workspace config and the seed.

    The defaults are the *harder* world (``seasons.py``): a weekly rhythm of misses, holiday
    peaks, two slowly drifting streams and a shifting segment mix; :meth:`plain` is the classic
    world without them.
    """

    segment_mix: Triple = (0.6, 0.25, 0.15)
    segment_mix_end: Triple | None = (0.5, 0.25, 0.25)  # the mix of arrivals at the window's end
    weekday_miss: tuple[float, ...] = WEEKDAY_MISS
    peaks: tuple[Peak, ...] = PEAKS
    drifts: int = 2
    drift_size: float = 0.6
    busy_sizes: tuple[float, ...] = (1.5, 2.0, 2.5, 3.0)  # incident sizes on busy streams (7–14 days)
    thin_sizes: tuple[float, ...] = (4.0, 5.0, 6.0)  # and on thin ones (21–35 days)
    # Burn-in: journeys already under way when the export window opens, so day 0 is not an empty shop
    # and the mix of journeys ending (hence the NPS) is the same on every day. None: long enough for
    # the slowest segment's full journey (see ``world.burn_in_days``); 0: a cold start.
    warmup_days: int | None = None
    conversion: dict[str, Triple] = field(default_factory=_conversion)
    default_conversion: Triple = (0.8, 0.8, 0.8)
    dwell: dict[str, Triple] = field(default_factory=_dwell)
    default_dwell: Triple = (7.0, 7.0, 7.0)
    plans: dict[str, MomentPlan] = field(default_factory=_plans)
    default_plan: MomentPlan = MomentPlan("once", share=(0.8, 0.8, 0.8))
    miss: dict[str, float] = field(default_factory=_miss)
    default_miss: float = 0.08
    segment_miss_factor: Triple = (1.0, 0.8, 1.2)
    exceed: float = 0.25
    optional_share: float = 0.45  # share of optional metrics (a ticket's csat) that get answered
    weekend_shift: Triple = (0.35, 0.5, 0.85)  # one-off events moved from a weekend to Monday
    weekend_keep: Triple = (0.75, 0.65, 0.3)  # recurring events kept on a weekend day
    signup_moment: str = "pricing_page"  # the web page a prospect signs up on (links visitor -> customer)
    promised_days: tuple[tuple[int, ...], ...] = ((4, 5, 6, 7), (2, 3), (3, 4, 5))
    nps: NpsModel = field(default_factory=NpsModel)

    @classmethod
    def plain(cls, **changes: object) -> WorldParams:
        """The classic world: no weekly rhythm of misses, no peaks, no drifts, a fixed segment mix."""
        base: dict[str, object] = {
            "segment_mix_end": None,
            "weekday_miss": (1.0,) * 7,
            "peaks": (),
            "drifts": 0,
            "busy_sizes": (2.0, 2.5, 3.0),
        }
        return cls(**{**base, **changes})  # type: ignore[arg-type]
