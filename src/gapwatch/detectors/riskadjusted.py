"""Risk-adjusted p and p′ charts: each point judged against its own expected rate.

The classic p chart has one centre line p̄ per stream. When the expected rate of a period is
known to differ (the day of the week, a sale, the mix of segments behind it), a flat centre
line flags that known variation as signals. The risk-adjusted p chart (Cook, Steiner, Cook &
Farewell 2003, "The risk-adjusted p chart", and Steiner's O − E charts) gives each point t
its expected rate r_t and judges the standardised residual

    z_t = (p_t − r_t) / √(r_t (1 − r_t) / n_t)

with limits r_t ± L·φ·√(r_t (1 − r_t) / n_t). φ is Laney's σ_z (Laney 2002): the moving-range
estimate of the SD of the baseline's z, used where the baseline is over-dispersed (Pearson's
X² = Σz² against χ²(m − 1), p < ``alpha``, and σ_z > 1), or always / never as asked; "always"
never goes below 1 (limits tighter than the binomial ones would come from the noise of a short
baseline's σ_z, not from the process). With r_t equal to p̄ for every t this *is* the p (or p′)
chart: a test holds them to ``PChart``.

Phase I: ``revise`` drops baseline points beyond the limits and re-estimates, up to three
times. Re-estimating rescales r_t by the kept points' observed / expected misses (the shape
of the known variation stays, its level is re-fitted) and re-computes φ.

``est_rel_var`` (per stream, or per point) adds the estimation error of the expected rate: the
limits use √(se² + (r_t·φ)²·est_rel_var) (a level known from M misses is off by about ±1/√M; a
weekday's factor, known from that weekday's misses only, by more).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from gapwatch.detectors.base import BoolArray, ChartResult, FloatArray
from gapwatch.detectors.estimate import mr_bar
from gapwatch.stats.constants import d2
from gapwatch.stats.distributions import chi2_sf

__all__ = ["risk_adjusted_p"]

LaneyMode = Literal["auto", "always", "never"]
D2 = d2(2, "table")
REVISE_STEPS = 3


def _z(x: FloatArray, n: FloatArray, rate: FloatArray) -> tuple[FloatArray, FloatArray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt(rate * (1.0 - rate) / n)
        z = np.where(se > 0, (x / n - rate) / se, np.nan)
    return z, se


def _phi(
    z: FloatArray, base: BoolArray, modes: Sequence[str], alpha: float
) -> tuple[FloatArray, FloatArray, BoolArray, FloatArray]:
    ok = base & np.isfinite(z)
    sigma_z = mr_bar(np.where(ok, z, np.nan), ok, "plain", "table") / D2
    m = ok.sum(axis=1)
    x2 = np.where(ok, z * z, 0.0).sum(axis=1)
    p_disp = np.where(m > 1, chi2_sf(x2, np.maximum(m - 1, 1)), 1.0)
    auto = (p_disp < alpha) & (sigma_z > 1.0)
    mode = np.array(list(modes))
    use = np.where(mode == "always", np.isfinite(sigma_z), np.where(mode == "never", False, auto))
    # never tighter than the binomial: a σ_z below 1 from a short baseline is mostly estimation noise
    return np.where(use & np.isfinite(sigma_z), np.maximum(sigma_z, 1.0), 1.0), p_disp, use, sigma_z


def risk_adjusted_p(
    x: FloatArray,
    n: FloatArray,
    rate: FloatArray,
    baseline: BoolArray,
    L: float | FloatArray,
    *,
    laney: Sequence[LaneyMode] | LaneyMode = "auto",
    revise: bool = True,
    est_rel_var: FloatArray | None = None,
    alpha: float = 0.01,
) -> ChartResult:
    """Risk-adjusted p/p′ chart over (S, T) counts ``x`` of ``n`` with expected rates ``rate``.

    ``L`` is one limit multiplier or one per stream. Points with no events (or no expected
    rate) are NaN. Returns the engine's ``ChartResult`` with rule ``we1`` (beyond the limits).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[5, 6, 4, 5, 15.0]]); n = np.full((1, 5), 100.0)
    >>> r = risk_adjusted_p(x, n, np.full((1, 5), 0.05), np.array([[1, 1, 1, 1, 0]], bool), 3.0)
    >>> r.signals["we1"].tolist(), str(r.chart[0])
    ([[False, False, False, False, True]], 'p')
    """
    s_count = x.shape[0]
    modes = [laney] * s_count if isinstance(laney, str) else list(laney)
    with np.errstate(invalid="ignore"):
        usable = np.isfinite(x) & np.isfinite(n) & (n > 0) & np.isfinite(rate)
    xs, ns = np.where(usable, x, np.nan), np.where(usable, n, np.nan)
    r = np.where(usable, rate, np.nan)
    big_l = np.broadcast_to(np.asarray(L, dtype=float), (s_count,))[:, None]
    rel = np.zeros((s_count, 1)) if est_rel_var is None else np.nan_to_num(est_rel_var, posinf=np.inf)
    rel = rel[:, None] if rel.ndim == 1 else rel
    base = baseline & usable
    kept = base.copy()
    for step in range(REVISE_STEPS + 1):
        if step:  # re-fit the level to the kept baseline points
            obs = np.where(kept, xs, 0.0).sum(axis=1)
            exp = np.where(kept, ns * r, 0.0).sum(axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                k = np.where(exp > 0, obs / exp, 1.0)
            r = np.clip(r * k[:, None], 0.0, 1.0)
        z, se0 = _z(xs, ns, r)
        phi, p_disp, laney_used, sigma_z = _phi(z, kept, modes, alpha)
        se = se0 * phi[:, None]
        half = big_l * np.sqrt(se**2 + (r * phi[:, None]) ** 2 * rel)
        lcl, ucl = np.maximum(r - half, 0.0), np.minimum(r + half, 1.0)
        with np.errstate(invalid="ignore"):
            stat = xs / ns
            beyond = np.isfinite(stat) & ((stat > ucl) | (stat < lcl))
        if not revise:
            break
        new = kept & ~beyond
        new = np.where((new.sum(axis=1) >= 2)[:, None], new, kept)
        if np.array_equal(new, kept) and step:
            break
        kept = new
    charts = np.where(laney_used, "pprime", "p").astype(str)
    reasons = [
        f"{'Laney p′' if laney_used[i] else 'p'} chart on the expected rate: sigma_z {sigma_z[i]:.2f}"
        f"{' (below 1: binomial limits)' if laney_used[i] and phi[i] == 1.0 else ''}, "
        f"dispersion p = {p_disp[i]:.2g}, {int(kept[i].sum())} baseline points"
        for i in range(s_count)
    ]
    return ChartResult(
        chart=np.array(charts),
        center=r,
        lcl=lcl,
        ucl=ucl,
        statistic=stat,
        signals={"we1": beyond},
        sigma=np.full(s_count, np.nan),
        baseline=kept,
        extra={"sigma_z": phi, "se": se, "p_dispersion": p_disp},
        reason=reasons,
    )
