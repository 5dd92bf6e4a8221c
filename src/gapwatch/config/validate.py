"""Rules that cross sections of `gapwatch.yaml`; each problem comes back with its YAML path."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from gapwatch.config.collect import PathField, TrackingSource, WebhookSource
from gapwatch.config.schema import FieldSpec, Source, WorkspaceConfig

ALL_SEGMENTS = "all"


def _values(spec: FieldSpec | PathField | None) -> list[Any]:
    """The constant values a field spec can produce (a constant, or the targets of a map)."""
    if spec is None:
        return []
    if spec.value is not None:
        return [spec.value]
    out = list((spec.map or {}).values())
    if spec.default is not None:
        out.append(spec.default)
    return out


def cross_check(config: WorkspaceConfig) -> list[tuple[str, str]]:
    """Every cross-section problem as (path, message); empty when the config is coherent."""
    return [
        *_lifecycle(config),
        *_expectations(config),
        *_sources(config),
        *_collect(config),
        *_detection(config),
    ]


def _lifecycle(config: WorkspaceConfig) -> Iterator[tuple[str, str]]:
    seen_stages: set[str] = set()
    seen_moments: set[str] = set()
    for i, stage in enumerate(config.lifecycle):
        here = f"lifecycle[{i}]"
        if stage.silo not in config.silos:
            yield f"{here}.silo", f"unknown silo {stage.silo!r} (declared: {', '.join(config.silos)})"
        if stage.stage in seen_stages:
            yield f"{here}.stage", f"stage {stage.stage!r} is declared twice"
        seen_stages.add(stage.stage)
        for j, moment in enumerate(stage.moments):
            if moment.key in seen_moments:
                yield f"{here}.moments[{j}].key", f"moment {moment.key!r} is declared twice"
            seen_moments.add(moment.key)
            for k, metric in enumerate(moment.metrics):
                if metric not in config.metrics:
                    yield f"{here}.moments[{j}].metrics[{k}]", f"unknown metric {metric!r}"


def _moment_metrics(config: WorkspaceConfig) -> dict[str, list[str]]:
    return {m.key: m.metrics for stage in config.lifecycle for m in stage.moments}


def _segment_ok(config: WorkspaceConfig, segment: Any) -> bool:
    return segment == ALL_SEGMENTS or segment in config.segments


def _expectations(config: WorkspaceConfig) -> Iterator[tuple[str, str]]:
    moments = _moment_metrics(config)
    spans: dict[tuple[str, str, str], list[tuple[int, Any, Any]]] = {}
    for i, exp in enumerate(config.expectations):
        here = f"expectations[{i}]"
        if exp.moment not in moments:
            yield f"{here}.moment", f"unknown moment {exp.moment!r}"
        elif exp.metric not in moments[exp.moment]:
            yield f"{here}.metric", f"moment {exp.moment!r} does not watch metric {exp.metric!r}"
        if not _segment_ok(config, exp.segment):
            yield f"{here}.segment", f"unknown segment {exp.segment!r}"
        metric = config.metrics.get(exp.metric)
        declared = None if metric is None else (metric.range or metric.scale)
        if declared is not None:
            low, high = declared
            what = "range" if metric is not None and metric.range else "scale"
            for name in ("adequate", "desired"):
                level = getattr(exp, name)
                if not low <= level <= high:
                    yield f"{here}.{name}", f"{level} lies outside the metric's {what} {low}..{high}"
        spans.setdefault((exp.moment, exp.segment, exp.metric), []).append((i, exp.valid_from, exp.valid_to))
    for key, items in spans.items():
        items.sort(key=lambda t: t[1])
        for (_, _, end_a), (j, start_b, _) in itertools.pairwise(items):
            if end_a is None or end_a > start_b:
                overlapped = "/".join(key)
                yield (
                    f"expectations[{j}].valid_from",
                    f"overlaps another expectation for {overlapped}; close the earlier one with valid_to",
                )


def _sources(config: WorkspaceConfig) -> Iterator[tuple[str, str]]:
    moments = _moment_metrics(config)
    for name, source in config.sources.items():
        yield from _source(config, f"sources.{name}", source, moments)


def _source(
    config: WorkspaceConfig, here: str, source: Source, moments: dict[str, list[str]]
) -> Iterator[tuple[str, str]]:
    for value in _values(source.moment):
        if value not in moments:
            yield f"{here}.moment", f"maps to unknown moment {value!r}"
        elif source.moments is not None and value not in source.moments:
            yield f"{here}.moment", f"maps to moment {value!r}, which its `moments` list does not allow"
    for i, value in enumerate(source.moments or []):
        if value not in moments:
            yield f"{here}.moments[{i}]", f"unknown moment {value!r}"
    auto = source.segment is not None and source.segment.labels == "auto"
    for value in [] if auto else _values(source.segment):  # auto labels need no declaration
        if not _segment_ok(config, value):
            yield f"{here}.segment", f"maps to unknown segment {value!r}"
    declared_metrics = {m for ms in moments.values() for m in ms}
    for i, exp in enumerate(source.experiences):
        for value in _values(exp.metric):
            if value not in declared_metrics:
                yield f"{here}.experiences[{i}].metric", f"maps to unknown metric {value!r}"


def _collect(config: WorkspaceConfig) -> Iterator[tuple[str, str]]:
    """Tracking and webhook sources: unique source names, declared moments, metrics and segments."""
    moments = _moment_metrics(config)
    files = set(config.sources)
    for name, tracking in config.tracking.items():
        if name in files:
            yield f"tracking.{name}", f"source {name!r} is also declared under sources (names are unique)"
        yield from _tracking(config, f"tracking.{name}", tracking, moments)
    for name, hook in config.webhooks.items():
        if name in files or name in config.tracking:
            yield f"webhooks.{name}", f"source {name!r} is declared twice (names are unique across sections)"
        yield from _webhook(config, f"webhooks.{name}", hook, moments)


def _tracking(
    config: WorkspaceConfig, here: str, tracking: TrackingSource, moments: dict[str, list[str]]
) -> Iterator[tuple[str, str]]:
    for i, event in enumerate(tracking.events):
        at = f"{here}.events[{i}]"
        for value in _values(event.segment):
            if not _segment_ok(config, value):
                yield f"{at}.segment", f"maps to unknown segment {value!r}"
        if event.moment not in moments:
            yield f"{at}.moment", f"unknown moment {event.moment!r}"
            continue
        for j, exp in enumerate(event.experiences):
            if exp.metric not in moments[event.moment]:
                problem = f"moment {event.moment!r} does not watch {exp.metric!r}"
                yield f"{at}.experiences[{j}].metric", problem


def _webhook(
    config: WorkspaceConfig, here: str, hook: WebhookSource, moments: dict[str, list[str]]
) -> Iterator[tuple[str, str]]:
    for value in _values(hook.segment):
        if not _segment_ok(config, value):
            yield f"{here}.segment", f"maps to unknown segment {value!r}"
    if hook.signature is not None:
        secret = hook.signature.secret_file
        if secret.startswith(("/", "\\")) or ".." in secret.replace("\\", "/").split("/"):
            yield f"{here}.signature.secret_file", "a file in the workspace folder (relative, no '..')"
    for i, answer in enumerate(hook.answers):
        at = f"{here}.answers[{i}]"
        if answer.moment is not None and answer.moment not in moments:
            yield f"{at}.moment", f"unknown moment {answer.moment!r}"
        elif answer.moment is not None and answer.metric not in moments[answer.moment]:
            yield f"{at}.metric", f"moment {answer.moment!r} does not watch {answer.metric!r}"


def _detection(config: WorkspaceConfig) -> Iterator[tuple[str, str]]:
    moments = _moment_metrics(config)
    for i, o in enumerate(config.detection.overrides):
        here = f"detection.overrides[{i}]"
        if o.moment not in moments:
            yield f"{here}.moment", f"unknown moment {o.moment!r}"
        elif o.metric is not None and o.metric not in moments[o.moment]:
            yield f"{here}.metric", f"moment {o.moment!r} does not watch metric {o.metric!r}"
        if o.segment is not None and not (_segment_ok(config, o.segment) or _auto_labels(config)):
            yield f"{here}.segment", f"unknown segment {o.segment!r}"
    for i, c in enumerate(config.detection.calendar):
        for j, m in enumerate(c.moments or []):
            if m not in moments:
                yield f"detection.calendar[{i}].moments[{j}]", f"unknown moment {m!r}"


def _auto_labels(config: WorkspaceConfig) -> bool:
    """Some source takes its segment labels from the data (any label may then be a segment)."""
    return any(s.segment is not None and s.segment.labels == "auto" for s in config.sources.values())
