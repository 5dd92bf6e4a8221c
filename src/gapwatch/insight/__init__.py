"""Insight: beyond the score. Key drivers, outcome prediction, perspectives and text signals.

The statistics here are pure (numpy, scipy, scikit-learn): encoders, relative weights,
the stacked outcome classifier, scores. Use cases that read files or the store build on
them (``flat`` for survey tables without a workspace).
"""

from __future__ import annotations
