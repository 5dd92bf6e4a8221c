"""Who may call: API tokens, created once, shown once, stored only as a hash.

The rules of who may do what live in :mod:`gapwatch.domain.access`; this room stores and
checks tokens. May import the core and ``sqlport``; no other room, no face.
"""

from __future__ import annotations
