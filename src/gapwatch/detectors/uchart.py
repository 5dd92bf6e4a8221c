"""c, u and Laney u′ charts: nonconformities (complaints, defects) per unit of exposure.

References: Montgomery, *Introduction to Statistical Quality Control*, ch. 7 (c chart
c̄ ± L·sqrt(c̄); u chart ū ± L·sqrt(ū/n_i)); Laney (2002) for u′, which scales the Poisson
standard error by sigma_z when day-to-day variation exceeds Poisson variation.
"""

from __future__ import annotations

from gapwatch.detectors.attribute import AttributeChart

__all__ = ["CChart", "UChart"]


class UChart(AttributeChart):
    """u chart (``laney=True``: Laney u′; ``"auto"``: u′ where over-dispersed), many streams."""

    kind = "u"
    binomial = False
    per_unit = True


class CChart(AttributeChart):
    """c chart: counts per constant inspection unit (sizes are ignored)."""

    kind = "c"
    binomial = False
    per_unit = False
