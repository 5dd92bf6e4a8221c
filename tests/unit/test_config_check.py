"""`gapwatch.yaml` validation: several problems at once, each with its path and line."""

from __future__ import annotations

import pytest

from gapwatch.config import ConfigError, default_config, default_config_text, parse_config


def test_default_template_is_valid_and_has_every_source() -> None:
    config = default_config()
    assert set(config.sources) == {"web", "crm", "orders", "usage", "tickets", "survey"}
    assert config.sources["survey"].kind == "outcome"


def test_every_problem_is_reported_with_path_and_line() -> None:
    text = (
        default_config_text()
        .replace(
            "silo: marketing\n    moments:\n      - {key: landing_page",
            "silo: marketting\n    moments:\n      - {key: landing_page",
        )
        .replace("timezone: UTC ", "timezone: Mars/Olympus ")
        .replace(
            "{moment: quote, metric: quote_turnaround_hours, segment: all, adequate: 48, desired: 8,",
            "{moment: quote, metric: quote_turnaround_hours, segment: gold, adequate: 48, desired: 48,",
        )
    )
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    found = {p.path: p for p in info.value.problems}
    assert "workspace.timezone" in found and "Mars/Olympus" in found["workspace.timezone"].message
    assert "lifecycle[0].silo" in found and found["lifecycle[0].silo"].line is not None
    assert any(p.startswith("expectations[") for p in found)
    assert len(info.value.problems) >= 3
    assert all(p.line for p in info.value.problems)
