"""Run an Ibis expression on the store's DuckDB connection.

Ibis 12.0.0 still calls DuckDB's ``fetch_arrow_table``, which DuckDB 2.0.1 deprecates;
the warning is the pinned versions' noise, not ours, so it is silenced here only.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import ibis.expr.types as ir
import pyarrow as pa

__all__ = ["execute"]


def execute(con: Any, build: Callable[..., ir.Table], *tables: str) -> pa.Table:
    """Bind ``tables`` of ``con`` (a DuckDB connection), build the expression and run it to Arrow."""
    import ibis

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", r"fetch_arrow_table\(\) is deprecated", DeprecationWarning)
        backend = ibis.duckdb.from_connection(con)
        expr = build(*(backend.table(t) for t in tables))
        result: pa.Table = expr.to_pyarrow()
    return result
