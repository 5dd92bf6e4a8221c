"""A posted body, decoded within bounds: gzip (a bomb stops at the limit), then strict JSON.

The HTTP face enforces the limit on the bytes that arrive (413 before reading); this module
enforces it again on the bytes they expand to, while expanding: a 1 KB gzip member that
would inflate to gigabytes is refused after ``limit + 1`` bytes of output, never held whole.

Examples
--------
>>> import gzip
>>> decode_body(gzip.compress(b'{"batch": []}'), "gzip", limit=1024)
{'batch': []}
>>> try:
...     decode_body(gzip.compress(b"0" * 10_000), "gzip", limit=1024)
... except BodyError as exc:
...     print(exc.status, exc)
413 the body expands to more than 1024 bytes
"""

from __future__ import annotations

import zlib
from typing import Any

import orjson


class BodyError(ValueError):
    """A body that cannot be used: ``status`` is the HTTP answer (400, 413, 415)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def inflate(data: bytes, limit: int) -> bytes:
    """Expand gzip ``data`` (one or more members) to at most ``limit`` bytes."""
    out = bytearray()
    rest = data
    while rest:
        engine = zlib.decompressobj(16 + zlib.MAX_WBITS)  # a gzip header and trailer
        try:
            out += engine.decompress(rest, limit + 1 - len(out))
        except zlib.error as exc:
            raise BodyError(400, f"the body is not valid gzip ({exc})") from exc
        if len(out) > limit or engine.unconsumed_tail:
            raise BodyError(413, f"the body expands to more than {limit} bytes")
        if not engine.eof:
            raise BodyError(400, "the gzip body is truncated")
        rest = engine.unused_data.lstrip(b"\0")  # members may follow; padding zeros may end it
    return bytes(out)


def decode_body(data: bytes, encoding: str | None, limit: int) -> Any:
    """The JSON value of a body sent with ``Content-Encoding: encoding`` (none, identity or gzip)."""
    coding = (encoding or "identity").strip().lower()
    if coding == "gzip":
        data = inflate(data, limit)
    elif coding != "identity":
        raise BodyError(415, f"Content-Encoding {coding[:40]!r} is not supported (use gzip or none)")
    if len(data) > limit:
        raise BodyError(413, f"the body is longer than {limit} bytes")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise BodyError(400, f"the body is not JSON ({str(exc)[:120]})") from exc
