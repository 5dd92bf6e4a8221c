"""``POST /v1/files``: a whole file (CSV, CSV.gz, Parquet, JSONL) through a source mapping, via the server.

While a server owns the workspace, ``gapwatch ingest FILE`` uploads the file here instead of
opening the store. The body streams to a temporary file (never held in memory), then one
writer job runs the batch ingest on it (the same :func:`gapwatch.ingest.files.ingest_file`,
each chunk one transaction) and detection takes the new rows in (a rebuild of the detector
state from the store). The answer comes once every chunk is committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from gapwatch.api.deps import PrincipalDep, RuntimeDep, access, ensure
from gapwatch.api.errors import ApiError
from gapwatch.api.schemas import FileIngestPublic
from gapwatch.domain.access import Role, RouteGroup
from gapwatch.ingest.files import IngestError

router = APIRouter(tags=["events"])
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


def _openapi() -> dict[str, Any]:
    spec = access(RouteGroup.INGEST, 404, 503)
    spec["openapi_extra"] = {**spec["openapi_extra"], **_BODY}
    return spec


@router.post(
    "/files",
    operation_id="ingest_file",
    response_model=FileIngestPublic,
    summary="Ingest a whole file with a source mapping",
    description=(
        "The body is the file itself (CSV, CSV.gz, Parquet or JSONL; the format comes from the "
        "source's mapping or the name's extension), up to the service's upload limit (1 GB by "
        "default). Each chunk is one transaction; rejected rows are kept with their reason. "
        "An undeclared source is 404; a file its mapping cannot read at all (another format, "
        "a mapped column missing) is 422 and nothing is written. Live requests wait while the "
        "file is written (or get 503 with Retry-After)."
    ),
    **_openapi(),
)
async def ingest_file_route(
    request: Request,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    source: Annotated[str, Query(min_length=1, max_length=64, description="The source mapping.")],
    name: Annotated[
        str, Query(min_length=1, max_length=200, description="The file's name (its extension: its format).")
    ] = "upload.csv",
) -> FileIngestPublic:
    ensure(principal, RouteGroup.INGEST, source=source if principal.role is Role.INGEST else None)
    if source not in runtime.config.sources:
        declared = ", ".join(sorted(runtime.config.sources))
        raise ApiError(404, f"no source {source!r} in gapwatch.yaml (declared: {declared})")
    safe = _SAFE.sub("_", Path(name).name).lstrip(".") or "upload.csv"  # never "..", never hidden
    folder = Path(tempfile.mkdtemp(prefix="gapwatch-upload-"))
    path = folder / safe
    try:
        with path.open("wb") as out:
            async for part in request.stream():
                out.write(part)
        future = runtime.writer.submit(runtime.ingest_file_job(path, source))  # full queue: 503
        try:
            result = await asyncio.wrap_future(future)
        except IngestError as exc:  # named by the posted name, not the server's temporary path
            raise ApiError(422, str(exc).replace(str(path), name)) from exc
    finally:
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)
            folder.rmdir()
    counts = result.counts
    return FileIngestPublic(
        source=source,
        file=name,
        received=counts.received,
        rows=counts.rows,
        accepted=counts.accepted,
        duplicate=counts.duplicate,
        rejected=counts.rejected,
        reasons=dict(sorted(counts.reasons.items())),
        seconds=round(result.seconds, 3),
    )
