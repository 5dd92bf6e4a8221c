"""The demo: a simulated world with known incidents, detected during the fact, beside the NPS after it.

Owns the demo use case (``run``) and its scoring against the simulator's truth
(``score``). May import every room below the faces (``simulate``, ``ingest``, ``monitor``,
``report``) and ``workspace``; never a face.
"""

from __future__ import annotations
