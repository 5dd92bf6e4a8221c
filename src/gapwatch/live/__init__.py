"""Live, incremental detection: the service judges what it stored since its last run.

Owns the in-memory stream × day sums (``book``), the service clock that closes periods
(``clock``), the live monitor (``monitor``), writing only what changed (``store``),
comparable snapshots of live, stored and batch state (``state``) and the reads of the
monitor's state for people (``read``). Calls the same detection functions as
:mod:`gapwatch.monitor`, so closed periods are bit-equal to the batch. May import the core,
``sqlport`` and ``monitor``; no adapter, no face.
"""

from __future__ import annotations
