"""Export: experiences, signals, alerts, cases and stream periods as Parquet or CSV (``gapwatch export``).

:func:`~gapwatch.export.tables.export_reader` streams a table's rows as Arrow batches
(pseudonymous ids only); :func:`~gapwatch.export.write.write_export` writes them, experiences
partitioned by period. The CLI runs both on the workspace, or — while ``gapwatch serve``
owns it — fetches the stream from ``GET /v1/exports/{what}`` and writes it locally.
"""

from __future__ import annotations

from gapwatch.export.tables import WHAT, ExportError, export_reader
from gapwatch.export.write import Written, write_export

__all__ = ["WHAT", "ExportError", "Written", "export_reader", "write_export"]
