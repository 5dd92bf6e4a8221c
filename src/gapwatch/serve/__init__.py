"""The running service: one process that owns a workspace.

:class:`~gapwatch.serve.runtime.Runtime` wires the store, the single writer, the live
monitor, alerts and webhook delivery together; the HTTP face (:mod:`gapwatch.api`) and the
web app (:mod:`gapwatch.web`) are built on it. This is the composition root of the live
path, so it may import every room below the faces and the adapters it wires; never a face.
"""

from __future__ import annotations
