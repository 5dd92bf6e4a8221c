"""Workspace configuration: `gapwatch.yaml` loading, validation and the default template."""

from __future__ import annotations

from gapwatch.config.loader import (
    CONFIG_FILE,
    ConfigError,
    Problem,
    default_config,
    default_config_text,
    load_config,
    parse_config,
)
from gapwatch.config.schema import Expectation, Metric, Moment, Source, Stage, WorkspaceConfig

__all__ = [
    "CONFIG_FILE",
    "ConfigError",
    "Expectation",
    "Metric",
    "Moment",
    "Problem",
    "Source",
    "Stage",
    "WorkspaceConfig",
    "default_config",
    "default_config_text",
    "load_config",
    "parse_config",
]
