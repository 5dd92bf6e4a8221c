"""The Python client of a running gapwatch service (a face): batches, safe retries, the API's names.

``GapwatchClient`` talks to ``/v1``; ``replay`` posts a simulated world to a server in
event-time order. May import anything below the faces.
"""

from __future__ import annotations

from gapwatch.client.http import ClientError, GapwatchClient, PostSummary, batched

__all__ = ["ClientError", "GapwatchClient", "PostSummary", "batched"]
