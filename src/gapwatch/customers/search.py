"""Find customers by their id (exact, or the start of it) for the customer page's search box."""

from __future__ import annotations

from gapwatch.sqlport import Sql, has_tables, rows

__all__ = ["find_customers"]

MAX_QUERY = 256


def find_customers(con: Sql, query: str, limit: int = 20) -> list[str]:
    """Customer ids equal to ``query`` or starting with it (case-insensitive), exact match first."""
    q = query.strip()[:MAX_QUERY]
    if not q or not has_tables(con, "identities"):
        return []
    pattern = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    found = rows(
        con,
        "SELECT DISTINCT customer_id FROM identities WHERE customer_id ILIKE ? ESCAPE '\\'"
        " ORDER BY customer_id <> ?, customer_id LIMIT ?",
        [pattern, q, limit],
    )
    return [str(r["customer_id"]) for r in found]
