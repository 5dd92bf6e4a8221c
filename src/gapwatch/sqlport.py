"""The narrow SQL surface the service modules need (a DuckDB connection or cursor fits it).

Service functions take an object of this shape instead of importing a database driver,
so they stay testable with an in-memory DuckDB and portable to another SQL store.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol


class Sql(Protocol):
    """A DB-API-like connection: ``execute`` then ``fetchall`` / ``fetchone``."""

    def execute(self, query: str, parameters: Sequence[Any] | None = ..., /) -> Any: ...

    def fetchall(self) -> list[tuple[Any, ...]]: ...

    def fetchone(self) -> tuple[Any, ...] | None: ...


def rows(con: Sql, query: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """Run ``query`` and return the rows as dicts keyed by column name."""
    cur = con.execute(query, list(params))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def one(con: Sql, query: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
    """The first row of ``query`` as a dict, or None."""
    found = rows(con, query, params)
    return found[0] if found else None


def has_tables(con: Sql, *names: str) -> bool:
    """Whether every one of ``names`` is a table of the store."""
    found = rows(
        con,
        "SELECT table_name FROM information_schema.tables WHERE table_name IN "
        f"({', '.join('?' for _ in names)})",
        list(names),
    )
    return len({r["table_name"] for r in found}) == len(names)
