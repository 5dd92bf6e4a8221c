"""How an ingest job is built from the workspace: its window, scope, identifier rule and types.

Every ingest path (files, Python tables, the API's batches, a file posted to the server)
builds its :class:`~gapwatch.domain.experience.IngestJob` here, so each one checks the
same bounds: the accepted event-time window (from the workspace's start and the clock),
the moments its source may post, the case rule of its identifiers.
"""

from __future__ import annotations

import datetime as dt

from gapwatch.config.schema import Source, WorkspaceConfig
from gapwatch.domain.bounds import EventWindow, allowed_moments, event_window, id_case
from gapwatch.domain.experience import RECORD_TYPES, IngestJob, Layout, Vocabulary
from gapwatch.ports import EventStore

__all__ = ["accepted_window", "ingest_job"]


def accepted_window(
    store: EventStore,
    config: WorkspaceConfig,
    *,
    last_event: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> EventWindow:
    """The event times this workspace accepts now (``last_event``: the event-time clock's latest)."""
    return event_window(
        config.workspace, now=now or dt.datetime.now(dt.UTC), start=store.started_at(), last_event=last_event
    )


def ingest_job(
    name: str,
    mapping: Source,
    config: WorkspaceConfig,
    file: str,
    *,
    layout: Layout = "columns",
    closed_through: dt.date | None = None,
    window: EventWindow | None = None,
    as_of: dt.datetime | None = None,
    record: bool = False,
) -> IngestJob:
    """The job of one file, table or batch; ``record``: the API's experience records (typed JSON)."""
    declared = config.sources.get(name)
    return IngestJob(
        name,
        mapping,
        Vocabulary.from_config(config),
        file,
        layout,
        closed_through,
        window=window,
        types=tuple(RECORD_TYPES.items()) if record else (),
        moments=allowed_moments(config, name) if declared is not None else None,
        id_case=id_case(config, declared if declared is not None else mapping),
        as_of=as_of,
    )
