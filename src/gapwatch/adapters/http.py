"""Outbound HTTP: the one place gapwatch itself sends requests (webhook deliveries)."""

from __future__ import annotations

from typing import Any

import httpx


def http_post(url: str, body: dict[str, Any], timeout: float) -> int:
    """POST ``body`` as JSON; returns the HTTP status."""
    return httpx.post(url, json=body, timeout=timeout).status_code
