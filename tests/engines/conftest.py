"""Fixtures of the engine tests: one Spark session for the whole test session, a small world.

The Spark tests need PySpark (the dev extras install it) and Java 17 (``.ci/run`` installs
``openjdk-17-jre-headless``); where either is missing they are skipped, saying which.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gapwatch.simulate import simulate, write_world


def _why_no_spark() -> str | None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "PySpark is not installed (pip install 'gapwatch[spark]')"
    if shutil.which("java") is None:
        return "Java 17 is not on this machine (apt-get install openjdk-17-jre-headless; .ci/run does)"
    return None


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """A local[2] Spark session shared by every Spark test (starting one takes ~20 s)."""
    why = _why_no_spark()
    if why:
        pytest.skip(why)
    from gapwatch.engines.spark_engine import spark_session

    session = spark_session("local[2]", "UTC", app="gapwatch-tests")
    session.conf.set("spark.sql.shuffle.partitions", "2")
    session.conf.set("spark.sql.adaptive.enabled", "false")  # tiny inputs: re-planning costs more
    yield session
    session.stop()


@pytest.fixture(scope="session")
def small_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded simulated world (a few hundred customers, two months, 5 % bad rows)."""
    out = tmp_path_factory.mktemp("world")
    write_world(simulate(customers=400, days=75, seed=11, incidents=3), out, dirty=0.05)
    return out
