"""Fixtures for the live-detection tests: a small simulated world and an in-process replay."""

from __future__ import annotations

from pathlib import Path

import pytest
from livehelpers import CUSTOMERS, DAYS, SEED, Record, live_config

from gapwatch.config.schema import WorkspaceConfig


@pytest.fixture(scope="session")
def world_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from gapwatch.simulate import simulate, write_world

    folder = tmp_path_factory.mktemp("live-world")
    write_world(simulate(CUSTOMERS, DAYS, SEED), folder)
    return folder


@pytest.fixture(scope="session")
def config() -> WorkspaceConfig:
    return live_config()


@pytest.fixture(scope="session")
def records(world_dir: Path, config: WorkspaceConfig) -> list[Record]:
    from gapwatch.client.replay import world_records

    return list(world_records(world_dir, config))
