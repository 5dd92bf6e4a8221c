"""Small SQL building blocks for the DuckDB adapter: quoting and the scoring expressions.

The scoring expressions must give exactly what :func:`gapwatch.domain.gap.score_arrays`
gives (same IEEE operations in the same order); a hypothesis test holds them together.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any


def ident(name: str) -> str:
    """Quote an identifier (column names from a user's file may hold spaces or quotes)."""
    return '"' + name.replace('"', '""') + '"'


def lit(value: Any) -> str:
    """A SQL literal for a constant from the configuration."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError(f"not a finite number: {value!r}")
        return repr(float(value)) if isinstance(value, float) else str(value)
    return "'" + str(value).replace("'", "''") + "'"


def in_list(expr: str, values: list[str] | tuple[str, ...]) -> str:
    """``expr IN (...)``; FALSE for an empty list (DuckDB rejects ``IN ()``)."""
    if not values:
        return "FALSE"
    return f"{expr} IN ({', '.join(lit(v) for v in values)})"


def shown(expr: str, width: int = 60) -> str:
    """A value quoted inside a message, cut to ``width`` characters."""
    return f"'''' || left({expr}, {width}) || ''''"


def score_sql(value: str, adequate: str, desired: str, sign: str, expected: str) -> dict[str, str]:
    """Expressions for the adequate level used, signed gap, normalised gap and status.

    Mirrors ``score_arrays``: a stated ``expected`` replaces adequate; a stated zone of no
    width falls back to the declared zone's width; missed is tested before exceeded.
    """
    used = f"coalesce({expected}, {adequate})"
    signed = f"({sign} * ({value} - {used}))"
    zone = f"abs({desired} - {adequate})"
    stated = f"abs({desired} - {used})"
    width = f"(CASE WHEN {stated} > 0 THEN {stated} ELSE {zone} END)"
    return {
        "adequate": used,
        "gap": signed,
        "gap_norm": f"(CASE WHEN {width} > 0 THEN {signed} / {width} END)",
        "status": (
            f"(CASE WHEN {signed} < 0 THEN -1 WHEN {sign} * ({value} - {desired}) > 0 THEN 1 ELSE 0 END)"
            "::TINYINT"
        ),
    }


def hash64(*exprs: str) -> str:
    """DuckDB's 64-bit ``hash`` of the values (NULLs included, by position).

    It is about ten times cheaper than MD5 but not promised stable across DuckDB
    versions, so the store keeps a canary (:data:`CANARY`) and rehashes stored rows when
    it changes; every hashed expression is therefore one that can be recomputed from
    stored columns (:data:`PAYLOAD`).
    """
    return f"hash({', '.join(exprs)})"


CANARY = "hash('gapwatch canary', 42::DOUBLE, NULL::VARCHAR, TIMESTAMPTZ '2025-01-01 00:00:00+00')"

# What makes two experiences (or outcomes) with the same event id the same event.
PAYLOAD = {
    "experiences": (
        "customer_key",
        "anonymous_key",
        "occurred_at",
        "moment",
        "segment",
        "metric",
        "value",
        "expected",
        "text",
        "CAST(attributes AS VARCHAR)",
    ),
    "outcomes": ("customer_key", "anonymous_key", "occurred_at", "value"),
}


def hmac_sql(expr: str, chars: int) -> str:
    """HMAC-SHA256 of ``expr`` keyed by the bound parameters ``$ipad`` and ``$opad``, as hex.

    The key never appears in the SQL text (a query tracer may log it); it arrives as the
    inner and outer padded keys of RFC 2104.
    """
    inner = f"unhex(sha256($ipad || encode({expr})))"
    return f"left(sha256($opad || {inner}), {chars})"


def hmac_pads(secret: bytes) -> tuple[bytes, bytes]:
    """RFC 2104 inner and outer padded keys of ``secret``, the parameters of :func:`hmac_sql`."""
    key = hashlib.sha256(secret).digest() if len(secret) > 64 else secret
    key = key.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)
