"""The corrective-action loop: signals become alerts, alerts open cases, cases run until back in control.

Owns alerts (explained, graded by Kano class, routed to the owning silo: ``alerts``), cases
with their audit trail (``cases``), webhook subscriptions and payloads (``webhooks``) and
their delivery off the request path (``delivery``, which sends through the ``Post`` port).
May import the core, ``ports`` and ``sqlport``; no other room, no adapter, no face.
"""

from __future__ import annotations
