"""The shared customer picture: one customer's journey across every silo, export and erasure.

Owns the cross-silo view (``journey``) and the personal-data rights (``erasure``: export of
everything held, erasure and the suppression list). May import the core, ``sqlport`` and
``quality`` (the open cases a customer touched); no adapter, no face.
"""

from __future__ import annotations
