"""The HTTP face of gapwatch: ``create_app`` over a :class:`~gapwatch.serve.runtime.Runtime`."""

from __future__ import annotations

from gapwatch.api.app import create_app
from gapwatch.serve.runtime import Runtime

__all__ = ["Runtime", "create_app"]
