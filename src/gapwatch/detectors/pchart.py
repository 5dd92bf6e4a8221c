"""p, np and Laney p′ charts: the proportion of experiences that missed expectations.

References: Montgomery, *Introduction to Statistical Quality Control*, ch. 7 (p chart with
variable sample size: per-point limits p̄ ± L·sqrt(p̄(1 - p̄)/n_i)); Laney (2002) for p′.
Prefer ``laney="auto"`` on customer data: with hundreds of experiences a day the classic
limits are too tight.  Where n·p̄ < 5 the normal approximation fails: prefer a per-event
chart (``BernoulliCUSUM``, ``GChart``) or weekly periods (see ``choose``).
"""

from __future__ import annotations

from gapwatch.detectors.attribute import AttributeChart

__all__ = ["NPChart", "PChart"]


class PChart(AttributeChart):
    """p chart (``laney=True``: Laney p′; ``"auto"``: p′ where over-dispersed), many streams.

    Examples
    --------
    >>> import numpy as np
    >>> counts = np.array([[2, 3, 1, 2, 9], [0, 1, 0, 1, 0]])
    >>> sizes = np.full((2, 5), 50)
    >>> res = PChart().fit_judge(counts, sizes, baseline=4)
    >>> res.center[:, 0].round(4).tolist(), np.flatnonzero(res.signals["we1"][0]).tolist()
    ([0.04, 0.01], [4])
    """

    kind = "p"
    binomial = True
    per_unit = True


class NPChart(AttributeChart):
    """np chart: the number of misses (centre n_i·p̄, so variable sizes are allowed)."""

    kind = "np"
    binomial = True
    per_unit = False
