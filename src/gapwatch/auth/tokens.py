"""API tokens: created once, shown once, stored only as a hash.

A token is ``gw_<id>_<secret>``; the store keeps the SHA-256 of the whole token (the
secret is 256 random bits, so a fast hash is enough and lookups stay cheap). Tokens are
read from the ``Authorization: Bearer`` header only, never from a query string.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from gapwatch.domain.access import Principal, Role
from gapwatch.sqlport import Sql, one, rows


class TokenError(ValueError):
    """A token request that does not fit its role (a member without a silo, …)."""


@dataclass(frozen=True, slots=True)
class TokenRecord:
    id: str
    role: Role
    silo: str | None
    source: str | None
    label: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None

    def principal(self) -> Principal:
        return Principal(token_id=self.id, role=self.role, silo=self.silo, source=self.source)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _check_scope(role: Role, silo: str | None, source: str | None) -> None:
    if role is Role.MEMBER and not silo:
        raise TokenError("a member token needs --silo")
    if role is Role.INGEST and not source:
        raise TokenError("an ingest token needs --source")
    if role is not Role.MEMBER and silo:
        raise TokenError(f"--silo applies to member tokens only, not {role.value}")
    if role is not Role.INGEST and source:
        raise TokenError(f"--source applies to ingest tokens only, not {role.value}")


def create_token(
    con: Sql, role: Role, *, silo: str | None = None, source: str | None = None, label: str = ""
) -> tuple[str, TokenRecord]:
    """Create a token; returns the plain token (shown once) and its stored record.

    Examples
    --------
    >>> import duckdb
    >>> from gapwatch.adapters.service_schema import ensure_service_schema
    >>> con = duckdb.connect(); ensure_service_schema(con)
    >>> plain, rec = create_token(con, Role.MEMBER, silo="sales")
    >>> authenticate(con, plain).silo
    'sales'
    """
    _check_scope(role, silo, source)
    token_id = "tk_" + secrets.token_hex(6)
    plain = f"gw_{token_id[3:]}_{secrets.token_urlsafe(32)}"
    now = dt.datetime.now(dt.UTC)
    con.execute(
        "INSERT INTO tokens VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
        [token_id, hash_token(plain), role.value, silo, source, label, now],
    )
    return plain, TokenRecord(token_id, role, silo, source, label, now, None)


def _record(row: dict[str, object]) -> TokenRecord:
    return TokenRecord(
        id=str(row["id"]),
        role=Role(str(row["role"])),
        silo=row["silo"] if isinstance(row["silo"], str) else None,
        source=row["source"] if isinstance(row["source"], str) else None,
        label=str(row["label"] or ""),
        created_at=row["created_at"],  # type: ignore[arg-type]
        revoked_at=row["revoked_at"],  # type: ignore[arg-type]
    )


def authenticate(con: Sql, token: str) -> TokenRecord | None:
    """The live token record for ``token``, or None (unknown, malformed or revoked)."""
    if not token.startswith("gw_") or len(token) > 200:
        return None
    digest = hash_token(token)
    row = one(con, "SELECT * FROM tokens WHERE hash = ? AND revoked_at IS NULL", [digest])
    if row is None or not hmac.compare_digest(str(row["hash"]), digest):
        return None
    return _record(row)


def list_tokens(con: Sql) -> list[TokenRecord]:
    return [_record(r) for r in rows(con, "SELECT * FROM tokens ORDER BY created_at, id")]


def get_token(con: Sql, token_id: str) -> TokenRecord | None:
    row = one(con, "SELECT * FROM tokens WHERE id = ?", [token_id])
    return None if row is None else _record(row)


def revoke_token(con: Sql, token_id: str) -> TokenRecord | None:
    """Revoke a token (idempotent); None when no such token exists."""
    con.execute(
        "UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
        [dt.datetime.now(dt.UTC), token_id],
    )
    return get_token(con, token_id)
