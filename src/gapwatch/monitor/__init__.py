"""Monitor, batch: aggregate every stream, choose baselines and charts, detect, store the result.

Owns the aggregate → detect steps as whole-store runs (``gapwatch detect``, the demo): the
stream arrays (``arrays``), the plan of which chart watches which stream (``plan``), the
one door to the SPC engine (``detect``), the charts over all streams at once (``charts``),
per-event charts for thin streams (``events``), the result value (``result``), writing it
(``store``), reading it through the lifecycle (``summary``) and the after-the-fact NPS
(``nps``). May import the core (``domain``, ``stats``, ``detectors``, ``metrics``,
``config``) and ``sqlport``; no other room, no adapter, no face.
"""

from __future__ import annotations
