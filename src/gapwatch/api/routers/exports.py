"""``GET /v1/exports/{what}``: a table's rows as an Arrow IPC stream (admin only).

What ``gapwatch export`` fetches while ``gapwatch serve`` owns the workspace; the CLI then
writes Parquet or CSV on its side. The stream is produced batch by batch from a read
cursor, so neither side holds the table.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from typing import Annotated, Any, Literal

import pyarrow as pa
from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from gapwatch.api.deps import PrincipalDep, RuntimeDep, access
from gapwatch.api.errors import ApiError
from gapwatch.domain.access import RouteGroup
from gapwatch.export import ExportError, export_reader

router = APIRouter(tags=["exports"])
ARROW_STREAM = "application/vnd.apache.arrow.stream"
What = Literal["experiences", "signals", "alerts", "cases", "streams"]


@router.get(
    "/exports/{what}",
    operation_id="export_table",
    response_class=StreamingResponse,
    responses={
        200: {"content": {ARROW_STREAM: {"schema": {"type": "string", "format": "binary"}}}},
        **access(RouteGroup.PRIVACY, 404)["responses"],
    },
    openapi_extra=access(RouteGroup.PRIVACY)["openapi_extra"],
)
def export_table(
    what: What,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    since: Annotated[
        str | None,
        Query(
            pattern=r"^\d{4}-\d{2}-\d{2}$",
            description="Rows of this day and later (YYYY-MM-DD).",
            json_schema_extra={"format": "date"},
        ),
    ] = None,
    text: Annotated[
        bool, Query(description="Include experiences' free text (may be personal data).")
    ] = False,
) -> StreamingResponse:
    """Experiences (pseudonymous ids only), signals, alerts, cases or stream periods, as Arrow batches."""
    try:
        day = dt.date.fromisoformat(since) if since is not None else None
    except ValueError as exc:
        raise ApiError(422, f"since: {since!r} is not a date") from exc
    cur = runtime.store.reader()
    try:
        reader = export_reader(cur, what, day, text=text)
    except ExportError as exc:
        cur.close()
        raise ApiError(404, str(exc)) from exc
    return StreamingResponse(_ipc(reader, cur), media_type=ARROW_STREAM)


def _ipc(reader: pa.RecordBatchReader, cur: Any) -> Iterator[bytes]:
    """The Arrow IPC stream of ``reader``, a batch at a time (the cursor is closed at the end)."""
    sink = _Chunks()
    try:
        with pa.ipc.new_stream(sink, reader.schema) as writer:
            yield sink.drain()  # the schema
            for batch in reader:
                writer.write_batch(batch)
                yield sink.drain()
        yield sink.drain()  # the end-of-stream marker
    finally:
        cur.close()


class _Chunks(io.RawIOBase):
    """A write-only file whose bytes are taken away as they are produced."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.buffer += data
        return len(data)

    def drain(self) -> bytes:
        out = bytes(self.buffer)
        self.buffer.clear()
        return out
