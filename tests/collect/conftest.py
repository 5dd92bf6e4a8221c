"""Fixtures for the collect tests: a service whose gapwatch.yaml has tracking and webhook sources."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "api"), str(HERE.parent / "durability")]

from apihelpers import serve  # noqa: E402
from collecthelpers import Keys, make_keys, make_runtime  # noqa: E402

from gapwatch.api import Runtime, create_app  # noqa: E402


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A folder holding the webhook sources' signing secrets (the runtime's workspace)."""
    return tmp_path


@pytest.fixture
def runtime(workspace: Path) -> Iterator[Runtime]:
    rt = make_runtime(workspace)
    yield rt
    rt.close()


@pytest.fixture
def keys(runtime: Runtime) -> Keys:
    return make_keys(runtime)


@pytest.fixture
def server(runtime: Runtime) -> Iterator[str]:
    with serve(create_app(runtime, close_on_shutdown=False)) as url:
        yield url


@pytest.fixture
def client(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=60) as c:
        yield c
