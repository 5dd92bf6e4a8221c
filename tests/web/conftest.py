"""Fixtures of the web app's tests: one small world, served once for the whole folder."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from webhelpers import Served, build_world, serve_world, signed_in

pytestmark = pytest.mark.filterwarnings("ignore:fetch_arrow_table:DeprecationWarning")


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_world(tmp_path_factory.mktemp("web") / "world")


@pytest.fixture(scope="session")
def served(world: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve_world(world, tmp_path_factory.mktemp("served") / "ws") as s:
        yield s


@pytest.fixture
def login(served: Served) -> Iterator[Callable[[str], httpx.Client]]:
    """Sign in with a token (the form, as a browser does); the clients are closed afterwards."""
    clients: list[httpx.Client] = []

    def make(token: str) -> httpx.Client:
        clients.append(signed_in(served.url, token))
        return clients[-1]

    yield make
    for c in clients:
        c.close()
