"""Engines: where gapwatch's set-wise steps run — DuckDB embedded (default) or Apache Spark.

Both implement :class:`gapwatch.ports.Engine`; the steps are written once as DuckDB SQL and
the Spark engine runs them rewritten (``dialect.py``). ``pyspark`` is imported only when the
Spark engine is opened.
"""

from __future__ import annotations

from typing import Any

from gapwatch.ports import Engine

__all__ = ["ENGINES", "open_engine"]

ENGINES = ("duckdb", "spark")


def open_engine(
    name: str = "duckdb", *, timezone: str = "UTC", master: str | None = None, **options: Any
) -> Engine:
    """An engine by name: ``duckdb`` (embedded) or ``spark`` (local mode, or the cluster at ``master``)."""
    if name == "duckdb":
        from gapwatch.engines.duckdb_engine import DuckDBEngine

        return DuckDBEngine(timezone=timezone, **options)
    if name == "spark":
        from gapwatch.engines.spark_engine import SparkEngine

        return SparkEngine(master=master or "local[2]", timezone=timezone, **options)
    raise ValueError(f"unknown engine {name!r} (choose from {', '.join(ENGINES)})")
