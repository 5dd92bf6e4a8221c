"""One typed settings object for the service: the only place environment variables are read.

Every field can be set with an environment variable ``GAPWATCH_<FIELD>`` (upper case), or
passed directly, which wins over the environment.

Examples
--------
>>> s = Settings.from_env({"GAPWATCH_MAX_BATCH_EVENTS": "500"})
>>> s.max_batch_events, s.max_body_bytes
(500, 1048576)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

ENV_PREFIX = "GAPWATCH_"


class Settings(BaseModel):
    """Service settings (limits, queues, back-off, case verification)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    workspace: Path | None = Field(None, description="Workspace folder the service owns.")
    host: str = "127.0.0.1"
    port: int = Field(8765, ge=0, le=65535)
    max_body_bytes: int = Field(1_048_576, ge=1024, description="Largest request body; larger gets 413.")
    max_upload_bytes: int = Field(
        1 << 30, ge=1024, description="Largest file posted to /v1/files (gapwatch ingest via the server)."
    )
    max_batch_events: int = Field(1000, ge=1, description="Most events in one POST /v1/events.")
    write_queue_batches: int = Field(64, ge=1, description="Batches waiting for the writer before 503.")
    max_ingest_in_flight: int = Field(
        96,
        ge=1,
        description="Ingest requests admitted at once (read, parsed, queued or written); more get 503.",
    )
    max_ingest_bytes_in_flight: int = Field(
        16 * 1_048_576, ge=1024, description="Request bodies admitted at once, in bytes; more get 503."
    )
    write_group_events: int = Field(
        10_000, ge=1, description="Most events the writer commits in one transaction (a group commit)."
    )
    retry_after_seconds: int = Field(1, ge=1, description="Retry-After on 429 and 503 answers.")
    rate_limit_events_per_second: float = Field(
        0.0, ge=0.0, description="Per-token ingest rate limit (429 above it); 0 turns it off."
    )
    write_timeout_seconds: float = Field(30.0, gt=0.0, description="How long a request waits for its commit.")
    verify_periods: int = Field(7, ge=1, description="In-control periods before a verifying case may close.")
    webhook_max_attempts: int = Field(5, ge=1, description="Tries per alert and webhook.")
    webhook_backoff_seconds: float = Field(
        0.5, gt=0.0, description="First retry delay; doubles each attempt."
    )
    webhook_timeout_seconds: float = Field(
        5.0,
        gt=0.0,
        le=60.0,
        description="Total deadline of one webhook attempt (resolve, connect, TLS, send, status line).",
    )
    webhook_allow_hosts: tuple[str, ...] = Field(
        (),
        description=(
            "Receivers on non-public addresses an admin allows (comma-separated): host names, "
            "name:port, addresses or CIDR networks. Cloud metadata addresses and the service itself "
            "stay refused."
        ),
    )
    webhook_max_per_silo: int = Field(20, ge=1, description="Webhooks one silo may subscribe.")
    webhook_lane_size: int = Field(
        1000, ge=1, description="Deliveries waiting for one webhook; beyond, alerts wait in the outbox."
    )
    clock: Literal["wall", "event"] = Field(
        "wall", description="When periods close: by the wall clock, or by event time (replays of history)."
    )
    detect_max_delay_seconds: float = Field(
        0.25,
        gt=0.0,
        description="Longest wait of stored events for detection while the writer is busy (seconds).",
    )
    checkpoint_every_seconds: float = Field(
        1.0,
        gt=0.0,
        description="How often the service moves its write-ahead log into the database file, when idle.",
    )
    shutdown_grace_seconds: float = Field(
        3.0, ge=0.0, description="On SIGTERM / SIGINT: how long requests in flight may still finish."
    )
    close_grace_seconds: float | None = Field(
        None, ge=0.0, description="How long after its end a period stays open (default: 900 wall, 0 event)."
    )

    log_format: Literal["json", "text"] = Field(
        "json", description="Service logs on stderr: one JSON object per line (with the request id), or text."
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field("info", description="Least level logged.")
    access_log: bool = Field(True, description="Log one line per HTTP request (method, route, status, ms).")
    forwarded_allow_ips: str = Field(
        "127.0.0.1",
        description="Reverse proxies trusted for X-Forwarded-For / -Proto (comma-separated IPs, or *).",
    )

    @field_validator("webhook_allow_hosts", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        if isinstance(value, str):  # from the environment: "hooks.corp:8443, 10.20.0.0/16"
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from ``GAPWATCH_*`` variables, then ``overrides``."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            raw = env.get(ENV_PREFIX + name.upper())
            if raw is not None:
                values[name] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.model_validate(values)
