"""The HTTP face of gapwatch: ``create_app`` over a :class:`~gapwatch.api.runtime.Runtime`."""

from __future__ import annotations

from gapwatch.api.app import create_app
from gapwatch.api.runtime import Runtime

__all__ = ["Runtime", "create_app"]
