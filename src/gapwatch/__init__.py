"""gapwatch: statistical quality control for the customer lifecycle.

Watches, during the fact, the gap between what customers expect and what they
experience at every moment of truth, detects drifts with honest statistics,
routes them to the silo that owns the moment and tracks the fix.
"""

from __future__ import annotations

__version__ = "0.1.0"

from gapwatch.library import Detection, Gapwatch, Results, init, open

__all__ = ["Detection", "Gapwatch", "Results", "__version__", "init", "open"]
