"""The lifecycle as the rest of gapwatch sees it: ordered stages, owning silos, moments of truth.

Built once from a validated configuration; answers the questions routing and reporting
ask (which stage and silo own this moment? in what order do stages come?).
"""

from __future__ import annotations

from dataclasses import dataclass

from gapwatch.config.schema import Metric, WorkspaceConfig


@dataclass(frozen=True, slots=True)
class MomentOfTruth:
    key: str
    name: str
    stage: str
    silo: str
    order: int  # position of its stage in the lifecycle, 0 first
    metrics: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """Ordered stages and their moments of truth, each owned by a silo."""

    silos: tuple[str, ...]
    stages: tuple[str, ...]
    stage_silo: dict[str, str]
    moments: dict[str, MomentOfTruth]
    metrics: dict[str, Metric]
    segments: tuple[str, ...]

    @classmethod
    def from_config(cls, config: WorkspaceConfig) -> Lifecycle:
        moments: dict[str, MomentOfTruth] = {}
        for order, stage in enumerate(config.lifecycle):
            for m in stage.moments:
                moments[m.key] = MomentOfTruth(
                    m.key, m.name or m.key, stage.stage, stage.silo, order, tuple(m.metrics)
                )
        return cls(
            silos=tuple(config.silos),
            stages=tuple(s.stage for s in config.lifecycle),
            stage_silo={s.stage: s.silo for s in config.lifecycle},
            moments=moments,
            metrics=dict(config.metrics),
            segments=("all", *config.segments),
        )

    def silo_of(self, moment: str) -> str:
        return self.moments[moment].silo

    def stage_of(self, moment: str) -> str:
        return self.moments[moment].stage

    def moments_in(self, stage: str) -> list[MomentOfTruth]:
        return [m for m in self.moments.values() if m.stage == stage]
