"""What the simulator needs from a workspace config: stages, moments, zones and source layouts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gapwatch.config import WorkspaceConfig
from gapwatch.config.schema import Expectation, ExperienceSpec, FieldSpec, Source

KANO_CODES = ("must-be", "one-dimensional", "attractive")


@dataclass(frozen=True, slots=True)
class MomentInfo:
    key: str
    stage: int
    silo: str
    metrics: tuple[str, ...]
    source: str | None  # the experience source whose rows carry this moment (None: unobservable)
    segmented: bool  # does the source tell segments apart (else its streams are segment 'all')


@dataclass(frozen=True, slots=True)
class WorldSpec:
    """A read-only view of the config, indexed for vectorised generation."""

    config: WorkspaceConfig
    stages: tuple[str, ...]
    moments: tuple[MomentInfo, ...]
    segments: tuple[str, ...]

    @classmethod
    def from_config(cls, config: WorkspaceConfig, segments: tuple[str, ...]) -> WorldSpec:
        owners = _moment_sources(config)
        moments = tuple(
            MomentInfo(
                m.key,
                i,
                stage.silo,
                tuple(m.metrics),
                owners.get(m.key),
                _segmented(config.sources[owners[m.key]]) if m.key in owners else False,
            )
            for i, stage in enumerate(config.lifecycle)
            for m in stage.moments
        )
        return cls(config, tuple(s.stage for s in config.lifecycle), moments, segments)

    def moment_index(self, key: str) -> int:
        return next(i for i, m in enumerate(self.moments) if m.key == key)

    def direction(self, metric: str) -> float:
        return 1.0 if self.config.metrics[metric].direction == "higher" else -1.0

    def stream_segment(self, moment: int, segment: int) -> str:
        return self.segments[segment] if self.moments[moment].segmented else "all"

    def zone(self, moment: str, metric: str, segment: str, day: dt.date) -> Expectation:
        """The expectation in force (a segment's own entry wins over ``all``)."""
        found = [
            e
            for e in self.config.expectations
            if e.moment == moment
            and e.metric == metric
            and e.segment in (segment, "all")
            and e.valid_from <= day
            and (e.valid_to is None or day < e.valid_to)
        ]
        if not found:
            raise ValueError(f"no expectation in force for {moment}/{metric}/{segment} on {day}")
        return max(found, key=lambda e: (e.segment == segment, e.valid_from))

    def zones(
        self, moment: str, metric: str, segment: str, days: npt.NDArray[np.int64], start: dt.date
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.int8]]:
        """Adequate, desired and Kano code per row (rows given as day offsets from ``start``)."""
        unique, inverse = np.unique(days, return_inverse=True)
        found = [self.zone(moment, metric, segment, start + dt.timedelta(days=int(d))) for d in unique]
        adequate = np.array([e.adequate for e in found], dtype=float)[inverse]
        desired = np.array([e.desired for e in found], dtype=float)[inverse]
        kano = np.array([KANO_CODES.index(e.kano) for e in found], dtype=np.int8)[inverse]
        return adequate, desired, kano

    def experience_entry(self, moment: str, metric: str) -> ExperienceSpec | None:
        """The source mapping entry that carries this moment's metric."""
        info = self.moments[self.moment_index(moment)]
        if info.source is None:
            return None
        for entry in self.config.sources[info.source].experiences:
            names = (
                [entry.metric.value] if entry.metric.value is not None else (entry.metric.map or {}).values()
            )
            if metric in {str(n) for n in names}:
                return entry
        return None

    def experience_sources(self) -> dict[str, Source]:
        return {k: s for k, s in self.config.sources.items() if s.kind == "experience"}

    def outcome_source(self) -> tuple[str, Source] | None:
        return next(((k, s) for k, s in self.config.sources.items() if s.kind == "outcome"), None)


def _moment_sources(config: WorkspaceConfig) -> dict[str, str]:
    owners: dict[str, str] = {}
    for name, source in config.sources.items():
        if source.kind != "experience" or source.moment is None:
            continue
        for key in _moment_keys(source.moment):
            owners.setdefault(key, name)
    return owners


def _moment_keys(spec: FieldSpec) -> list[str]:
    if spec.value is not None:
        return [str(spec.value)]
    return [str(v) for v in (spec.map or {}).values()]


def _segmented(source: Source) -> bool:
    return source.segment is not None and source.segment.column is not None


def reverse_map(spec: FieldSpec) -> dict[str, str]:
    """Experience value -> the raw label a source system writes (first label wins)."""
    out: dict[str, str] = {}
    for label, key in (spec.map or {}).items():
        out.setdefault(str(key), str(label))
    return out
