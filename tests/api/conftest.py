"""Fixtures for the HTTP API: an in-memory service, tokens of every role, a loopback server."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from apihelpers import Tokens, make_runtime, serve
from fastapi import FastAPI

from gapwatch.api import Runtime, create_app
from gapwatch.auth.tokens import create_token
from gapwatch.domain.access import Role


@pytest.fixture
def runtime() -> Iterator[Runtime]:
    rt = make_runtime()
    yield rt
    rt.close()


@pytest.fixture
def app(runtime: Runtime) -> FastAPI:
    return create_app(runtime, close_on_shutdown=False)


@pytest.fixture
def client(app: FastAPI) -> Iterator[httpx.Client]:
    with serve(app) as url, httpx.Client(base_url=url, timeout=30) as c:
        yield c


@pytest.fixture
def tokens(runtime: Runtime) -> Tokens:
    def make(role: Role, **kw: str) -> str:
        return runtime.write(lambda con: create_token(con, role, **kw))[0]  # type: ignore[no-any-return]

    return Tokens(
        make(Role.ADMIN),
        make(Role.ANALYST),
        make(Role.MEMBER, silo="sales"),
        make(Role.MEMBER, silo="delivery"),
        make(Role.INGEST, source="crm"),
    )
