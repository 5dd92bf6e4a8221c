"""gapwatch: statistical quality control for the customer lifecycle.

Watches, during the fact, the gap between what customers expect and what they
experience at every moment of truth, detects drifts with honest statistics,
routes them to the silo that owns the moment and tracks the fix.

The Python face: ``gapwatch.open(path)`` (see :mod:`gapwatch.library` and docs/python.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from gapwatch.library import Detection, Gapwatch, Results, init, open

__all__ = ["Detection", "Gapwatch", "Results", "__version__", "init", "open"]


def __getattr__(name: str) -> Any:
    # The Python face loads the store, Ibis and every room; a CLI command such as `gapwatch chart`
    # imports this package too and should not pay for that, so the face is loaded on first use.
    if name in __all__:
        from gapwatch import library

        return getattr(library, name)
    raise AttributeError(f"module 'gapwatch' has no attribute {name!r}")
