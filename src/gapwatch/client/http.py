"""A Python client for the gapwatch service: batches, safe retries, the same names as the API.

Posting is idempotent on (source, event_id), so a batch whose answer was lost (a timeout,
a dropped connection, a server restart) is simply sent again: what was already stored
comes back as duplicates. The client honours ``Retry-After`` on 429 and 503 and backs off
exponentially on connection errors.

Examples
--------
>>> client = GapwatchClient("http://127.0.0.1:8765", token="gw_...")  # doctest: +SKIP
>>> client.post_events(records, source="crm").accepted                 # doctest: +SKIP
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

RETRY_STATUSES = frozenset({429, 502, 503, 504})


class ClientError(RuntimeError):
    """The server refused a request for good (a 4xx other than 429), or retries ran out."""

    def __init__(self, status: int | None, message: str) -> None:
        super().__init__(f"{status}: {message}" if status else message)
        self.status = status


@dataclass(slots=True)
class PostSummary:
    """Totals over every batch posted; ``received == accepted + duplicate + rejected``."""

    batches: int = 0
    received: int = 0
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    retries: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def add(self, body: dict[str, Any]) -> None:
        self.batches += 1
        for key in ("received", "accepted", "duplicate", "rejected"):
            setattr(self, key, getattr(self, key) + int(body[key]))
        for r in body["results"]:
            if r["status"] == "rejected":
                self.reasons[r["reason_code"]] = self.reasons.get(r["reason_code"], 0) + 1


def _message(response: httpx.Response) -> str:
    """The error's ``message`` (the API's error body), else the start of the body."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:500]
    message = body.get("message") if isinstance(body, dict) else None
    return str(message) if message else response.text[:500]


def batched(items: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class GapwatchClient:
    """Talk to a running ``gapwatch serve``.

    Parameters
    ----------
    url
        The service's base URL (``http://127.0.0.1:8765``).
    token
        An API token; sent as ``Authorization: Bearer``, never in a URL.
    batch_size
        Events per ``POST /v1/events`` (at most 1,000).
    max_retries
        Attempts per request before giving up (each honouring ``Retry-After``).
    backoff
        First wait after a connection error, doubled each time, at most 30 s.
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        batch_size: int = 500,
        max_retries: int = 30,
        backoff: float = 0.2,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.batch_size = batch_size
        self.max_retries = max_retries
        self.backoff = backoff
        self.sleep = sleep
        self.url = url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.url,
            timeout=timeout,
            transport=transport,
            headers={"Authorization": f"Bearer {token}"},
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> GapwatchClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """One API call with safe retries; returns the decoded JSON body (None for 204)."""
        wait = self.backoff
        last = "no attempt made"
        for _ in range(self.max_retries):
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.TransportError as exc:  # refused, reset, timed out: the request may be retried
                last = f"{type(exc).__name__}: {exc}"
                self.sleep(wait)
                wait = min(wait * 2, 30.0)
                continue
            if response.status_code in RETRY_STATUSES:
                last = response.text[:200]
                self.sleep(_retry_after(response, wait))
                wait = min(wait * 2, 30.0)
                continue
            if response.status_code >= 400:
                raise ClientError(response.status_code, _message(response))
            return None if response.status_code == 204 else response.json()
        raise ClientError(None, f"gave up after {self.max_retries} attempts ({last})")

    # -- the API, by operation id ----------------------------------------------------------------
    def post_events(
        self,
        events: Iterable[dict[str, Any]],
        source: str | None = None,
        on_batch: Callable[[dict[str, Any]], None] | None = None,
    ) -> PostSummary:
        """Post experience records in batches (``ingest_events``); returns the totals."""
        summary = PostSummary()
        for batch in batched(events, self.batch_size):
            body: dict[str, Any] = {"events": batch}
            if source is not None:
                body["source"] = source
            answer = self.request("POST", "/v1/events", json=body)
            summary.add(answer)
            if on_batch is not None:
                on_batch(answer)
        return summary

    def upload_file(self, path: Path, source: str) -> dict[str, Any]:
        """Ingest a whole file with the source mapping ``source`` (``POST /v1/files``); its counts.

        The file is streamed, never read whole; a retry sends it again from the start (safe:
        ingest is idempotent). The answer comes once every chunk is committed, so no timeout.
        """

        class Rewinding:
            def __iter__(self) -> Iterator[bytes]:
                with path.open("rb") as handle:
                    while chunk := handle.read(1 << 20):
                        yield chunk

        result: dict[str, Any] = self.request(
            "POST",
            "/v1/files",
            params={"source": source, "name": path.name},
            content=Rewinding(),
            headers={"content-type": "application/octet-stream"},
            timeout=None,
        )
        return result

    @contextmanager
    def export_stream(
        self, what: str, since: str | None = None, text: bool = False
    ) -> Iterator[io.BufferedReader]:
        """``GET /v1/exports/{what}`` as a readable binary stream (an Arrow IPC stream), never held whole."""
        params = _clean({"since": since, "text": "true" if text else None})
        with self._http.stream("GET", f"/v1/exports/{what}", params=params, timeout=None) as response:
            if response.status_code >= 400:
                response.read()
                raise ClientError(response.status_code, _message(response))
            # Buffered: a read of n bytes returns n bytes (pyarrow reads a message body in one read).
            yield io.BufferedReader(_Readable(response.iter_bytes()), buffer_size=1 << 20)

    def list_rejected(self, **filters: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.request("GET", "/v1/rejected", params=_clean(filters))
        return result

    def list_alerts(self, **filters: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.request("GET", "/v1/alerts", params=_clean(filters))["items"]
        return items

    def get_alert(self, alert_id: str) -> dict[str, Any]:
        return dict(self.request("GET", f"/v1/alerts/{alert_id}"))

    def get_case(self, case_id: str) -> dict[str, Any]:
        return dict(self.request("GET", f"/v1/cases/{case_id}"))

    def act_on_case(self, case_id: str, action: str, **fields: Any) -> dict[str, Any]:
        return dict(self.request("POST", f"/v1/cases/{case_id}/actions", json={"action": action, **fields}))

    def get_report(self) -> str:
        """The workspace's report as one HTML page (``GET /v1/report``)."""
        response = self._http.get("/v1/report")
        if response.status_code >= 400:
            raise ClientError(response.status_code, _message(response))
        return response.text

    def get_customer(self, customer_id: str) -> dict[str, Any]:
        return dict(self.request("GET", f"/v1/customers/{customer_id}"))

    def create_token(self, role: str, silo: str | None = None, source: str | None = None) -> dict[str, Any]:
        return dict(
            self.request("POST", "/v1/tokens", json=_clean({"role": role, "silo": silo, "source": source}))
        )


class _Readable(io.RawIOBase):
    """A file over an iterator of byte chunks (what pyarrow reads an IPC stream from)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._left = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._left:
            nxt = next(self._chunks, None)
            if nxt is None:
                return 0
            self._left = nxt
        n = min(len(buffer), len(self._left))
        buffer[:n] = self._left[:n]
        self._left = self._left[n:]
        return n


def _retry_after(response: httpx.Response, default: float) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", default)))
    except ValueError:
        return default


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}
