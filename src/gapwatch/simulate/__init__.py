"""A simulated world with known incidents, to prove detection on.

People enter the lifecycle (awareness → … → advocacy), most never convert; those who do meet
moments of truth whose values keep a stable miss probability per stream, except where an
incident multiplies it. Source systems export what they saw (``<source>.csv`` after the
workspace's source mappings); an end-of-journey NPS survey answers from a share of them; and
``truth.json`` says what really happened. Generation is pure (:func:`simulate` returns arrays);
:func:`write_world` writes the files.
"""

from __future__ import annotations

from gapwatch.simulate.generate import World, simulate
from gapwatch.simulate.params import NpsModel, WorldParams
from gapwatch.simulate.writers import TRUTH_FILE, tables, write_world

__all__ = ["TRUTH_FILE", "NpsModel", "World", "WorldParams", "simulate", "tables", "write_world"]
