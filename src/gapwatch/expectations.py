"""Versioned expectations: the YAML is the standard, the store keeps its history.

Syncing compares the YAML's expectations with the stored current versions, keyed by
(moment, segment, metric, valid_from): a new key is version 1; a key whose content
changed gets a new version and the old one ``superseded_at``; a key gone from the YAML
is superseded with no successor. Scored experiences keep the ``expectation_id`` they were
scored against, so a later change never rewrites them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from gapwatch.config.schema import WorkspaceConfig
from gapwatch.domain.experience import ALL_SEGMENTS, ExpectationVersion
from gapwatch.ports import ExpectationStore


@dataclass(slots=True)
class SyncResult:
    """What a sync changed: ids of the versions added and superseded."""

    added: list[int] = field(default_factory=list)
    superseded: list[int] = field(default_factory=list)
    unchanged: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.superseded)


def declared_versions(config: WorkspaceConfig) -> list[ExpectationVersion]:
    """The YAML's expectations as unsaved versions (id 0, version 0)."""
    out = []
    for e in config.expectations:
        metric = config.metrics[e.metric]
        out.append(
            ExpectationVersion(
                id=0,
                moment=e.moment,
                segment=e.segment,
                metric=e.metric,
                version=0,
                adequate=float(e.adequate),
                desired=float(e.desired),
                direction=metric.direction,
                unit=metric.unit,
                kano=e.kano,
                valid_from=e.valid_from,
                valid_to=e.valid_to,
            )
        )
    return out


def sync_expectations(
    store: ExpectationStore, config: WorkspaceConfig, at: dt.datetime | None = None
) -> SyncResult:
    """Bring the stored expectations in line with ``config``; history is kept.

    Parameters
    ----------
    store
        Where the versions live.
    config
        The validated workspace configuration.
    at
        When the change is recorded (now, by default).

    Returns
    -------
    SyncResult
        The ids added and superseded; nothing changes when the YAML did not.
    """
    at = at or dt.datetime.now(dt.UTC)
    every = store.expectation_versions(current_only=False)
    current = {v.key: v for v in every if v.superseded_at is None}
    latest = {v.key: v.version for v in every}
    next_id = max((v.id for v in every), default=0) + 1
    result = SyncResult()
    new: list[ExpectationVersion] = []
    declared = declared_versions(config)
    for d in declared:
        old = current.get(d.key)
        if old is not None and old.content == d.content:
            result.unchanged += 1
            continue
        if old is not None:
            result.superseded.append(old.id)
        version = latest.get(d.key, 0) + 1
        new.append(
            ExpectationVersion(
                next_id,
                d.moment,
                d.segment,
                d.metric,
                version,
                d.adequate,
                d.desired,
                d.direction,
                d.unit,
                d.kano,
                d.valid_from,
                d.valid_to,
                at,
                None,
            )
        )
        result.added.append(next_id)
        next_id += 1
    keys = {d.key for d in declared}
    result.superseded += [v.id for k, v in current.items() if k not in keys]
    if result.changed:
        store.record_expectations(new, result.superseded, at)
    return result


def expectation_in_force(
    versions: list[ExpectationVersion], moment: str, segment: str, metric: str, day: dt.date
) -> ExpectationVersion | None:
    """The version that scores an experience: same moment and metric, the segment's own
    zone else the one for ``all``, with ``day`` in [valid_from, valid_to); current versions only.

    Examples
    --------
    >>> from gapwatch.config import default_config
    >>> v = declared_versions(default_config())
    >>> expectation_in_force(v, "delivery", "premium", "delivery_days", dt.date(2025, 1, 1)).adequate
    3.0
    >>> expectation_in_force(v, "delivery", "business", "delivery_days", dt.date(2025, 1, 1)).adequate
    5.0
    """
    for seg in (segment, ALL_SEGMENTS):
        for v in versions:
            if (
                v.superseded_at is None
                and v.moment == moment
                and v.metric == metric
                and v.segment == seg
                and v.in_force(day)
            ):
                return v
    return None
