"""Web sign-in: server-side sessions and one-time sign-in links, both tied to an API token.

A session is a random id held by the browser in an HttpOnly cookie; the store keeps only its
SHA-256, the token it was opened with, a CSRF secret and its expiry. Every page looks the
session up together with its token, so revoking the token ends its sessions at once. A
one-time sign-in link (``gapwatch demo --serve``) carries a random code whose hash is stored;
redeeming it deletes it, so a second use finds nothing. Both tables are service tables
(``adapters/service_schema.py``), created when the service starts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from gapwatch.auth.tokens import TokenRecord, _record
from gapwatch.domain.access import Principal
from gapwatch.sqlport import Sql, one

__all__ = [
    "Session",
    "close_session",
    "create_login_link",
    "open_session",
    "redeem_login_link",
    "session_of",
]

MAX_SECRET = 200  # longer cookie values or codes are not ours: no lookup at all


@dataclass(frozen=True, slots=True)
class Session:
    """A live session: who (the token's principal) and the secret its forms must echo."""

    principal: Principal
    token: TokenRecord
    csrf: str
    expires_at: dt.datetime


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def open_session(con: Sql, token_id: str, ttl: dt.timedelta, now: dt.datetime | None = None) -> str:
    """Open a session for ``token_id``; returns the session id (the cookie's value, shown once)."""
    now = now or dt.datetime.now(dt.UTC)
    sid = secrets.token_urlsafe(32)
    con.execute(
        "INSERT INTO web_sessions VALUES (?, ?, ?, ?, ?)",
        [_hash(sid), token_id, secrets.token_urlsafe(24), now, now + ttl],
    )
    con.execute("DELETE FROM web_sessions WHERE expires_at < ?", [now])  # expired ones go on the way
    return sid


def session_of(con: Sql, sid: str | None, now: dt.datetime | None = None) -> Session | None:
    """The live session with id ``sid`` and its live token, or None (unknown, expired, revoked)."""
    if not sid or len(sid) > MAX_SECRET:
        return None
    now = now or dt.datetime.now(dt.UTC)
    row = one(
        con,
        "SELECT t.*, s.csrf AS session_csrf, s.expires_at AS session_expires FROM web_sessions s"
        " JOIN tokens t ON t.id = s.token_id WHERE s.id_hash = ? AND s.expires_at > ?"
        " AND t.revoked_at IS NULL",
        [_hash(sid), now],
    )
    if row is None:
        return None
    token = _record(row)
    return Session(token.principal(), token, str(row["session_csrf"]), row["session_expires"])


def close_session(con: Sql, sid: str | None) -> None:
    if sid and len(sid) <= MAX_SECRET:
        con.execute("DELETE FROM web_sessions WHERE id_hash = ?", [_hash(sid)])


def create_login_link(con: Sql, token_id: str, ttl: dt.timedelta, now: dt.datetime | None = None) -> str:
    """A one-time sign-in code for ``token_id`` (put in a URL); valid once, for ``ttl``."""
    now = now or dt.datetime.now(dt.UTC)
    code = secrets.token_urlsafe(32)
    con.execute("INSERT INTO web_login_links VALUES (?, ?, ?)", [_hash(code), token_id, now + ttl])
    return code


def redeem_login_link(con: Sql, code: str | None, now: dt.datetime | None = None) -> str | None:
    """The token id of a valid code, which is deleted (a second use gets None)."""
    if not code or len(code) > MAX_SECRET:
        return None
    now = now or dt.datetime.now(dt.UTC)
    digest = _hash(code)
    row = one(con, "SELECT token_id, expires_at FROM web_login_links WHERE code_hash = ?", [digest])
    con.execute("DELETE FROM web_login_links WHERE code_hash = ? OR expires_at < ?", [digest, now])
    if row is None or row["expires_at"] <= now:
        return None
    return str(row["token_id"])
