"""Relative weights: how much of the explained variation each predictor carries.

Johnson (2000) splits a regression's R² among correlated predictors: the predictors X are
replaced by their closest orthogonal counterparts Z = X V Λ^(-1/2) V' (V Λ V' = corr X), the
outcome is regressed on Z, and predictor j's weight is Σ_k Λ*_jk² β_k², where
Λ* = V Λ^(1/2) V' links X to Z. The weights sum to R². For a binary outcome Tonidandel &
LeBreton (2010) regress on Z by logistic regression and standardise each coefficient as
b_k · sd(Z_k) · R / sd(logit ŷ), with R the correlation of the outcome and the fitted
probabilities (R² = R_O²). Weights of several columns of one predictor (its spline terms,
a category's indicators) add up: the predictor's weight is their sum.

Pure numpy: each function takes arrays and optional case weights (a bootstrap replicate is
a vector of counts).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

__all__ = ["Weights", "relative_weights"]

Floats = npt.NDArray[np.float64]
RIDGE = 1e-6  # keeps Λ^(-1/2) finite when two columns are (almost) the same


class Weights(NamedTuple):
    raw: Floats  # per group, summing to r2
    r2: float
    coef: Floats  # the logistic fit on Z (intercept first); empty for a continuous outcome


def _weighted_corr(x: Floats, w: Floats) -> tuple[Floats, Floats, Floats]:
    """Weighted means, standard deviations and the correlation matrix of the columns of ``x``."""
    total = w.sum()
    mean = (w @ x) / total
    xc = x - mean
    cov = (xc * w[:, None]).T @ xc / total
    sd = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    sd = np.where(sd > 0, sd, 1.0)
    return mean, sd, cov / np.outer(sd, sd)


def _orthogonal(corr: Floats) -> tuple[Floats, Floats]:
    """Λ* = V Λ^(1/2) V' and the map X_std → Z = X_std V Λ^(-1/2) V'."""
    vals, vecs = np.linalg.eigh(corr + RIDGE * np.eye(corr.shape[0]))
    vals = np.clip(vals, RIDGE, None)
    lam = (vecs * np.sqrt(vals)) @ vecs.T
    to_z = (vecs / np.sqrt(vals)) @ vecs.T
    return lam, to_z


def _logistic(
    z: Floats, y: Floats, w: Floats, start: Floats | None = None, iterations: int = 30
) -> tuple[Floats, float]:
    """Weighted logistic regression by Newton's method.

    A unit ridge on the standardised, orthogonal columns (a N(0, 1) prior on each log-odds
    slope) keeps the fit finite when a small survey separates the outcome perfectly; with
    hundreds of rows it is negligible.
    """
    n, p = z.shape
    a = np.column_stack([np.ones(n), z])
    beta = np.zeros(p + 1) if start is None or start.size != p + 1 else start.copy()
    prior = np.ones(p + 1)
    prior[0] = 0.0
    for _ in range(iterations):
        eta = np.clip(a @ beta, -30, 30)
        prob = 1.0 / (1.0 + np.exp(-eta))
        grad = a.T @ (w * (y - prob)) - prior * beta
        hess = (a * (w * prob * (1 - prob))[:, None]).T @ a + np.diag(prior)
        step = np.linalg.solve(hess, grad)
        beta += step
        if np.max(np.abs(step)) < 1e-6:
            break
    return beta[1:], float(beta[0])


def relative_weights(
    x: Floats,
    y: Floats,
    groups: npt.NDArray[np.int64],
    n_groups: int,
    binary: bool,
    w: Floats | None = None,
    start: Floats | None = None,
) -> Weights:
    """Raw relative weight per group (summing to R²) and R², for rows weighted by ``w``.

    ``start`` (intercept then slopes) warm-starts the logistic fit: a bootstrap replicate
    starts from the full sample's solution and converges in a few Newton steps.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(2000, 3))
    >>> y = 2 * x[:, 0] + x[:, 1] + rng.normal(size=2000)
    >>> eps, r2, _ = relative_weights(x, y, np.arange(3), 3, binary=False)
    >>> [round(float(v), 2) for v in eps], round(r2, 2)
    ([0.67, 0.16, 0.0], 0.83)
    """
    weights = np.ones(len(y)) if w is None else np.asarray(w, dtype=np.float64)
    keep = weights > 0
    x, y, weights = x[keep], y[keep], weights[keep]
    _, sd, corr = _weighted_corr(x, weights)
    lam, to_z = _orthogonal(corr)
    mean = (weights @ x) / weights.sum()
    z = ((x - mean) / sd) @ to_z
    if binary:
        beta, r2, coef = _binary_betas(z, y, weights, start)
    else:
        _, ysd, _ = _weighted_corr(y[:, None], weights)
        ymean = (weights @ y) / weights.sum()
        zy = (z * weights[:, None]).T @ ((y - ymean) / ysd[0]) / weights.sum()
        beta = zy  # Z has unit variance and no correlation: the betas are the correlations
        r2 = float(np.sum(beta**2))
        coef = np.zeros(0, dtype=np.float64)
    raw = (lam**2) @ (beta**2)
    per_group: Floats = np.bincount(groups, weights=raw, minlength=n_groups).astype(np.float64)
    return Weights(per_group, r2, coef)


def _binary_betas(z: Floats, y: Floats, w: Floats, start: Floats | None) -> tuple[Floats, float, Floats]:
    b, b0 = _logistic(z, y, w, start)
    eta = b0 + z @ b
    prob = 1.0 / (1.0 + np.exp(-np.clip(eta, -30, 30)))
    _, _, c = _weighted_corr(np.column_stack([y, prob]), w)
    r = float(c[0, 1]) if np.isfinite(c[0, 1]) else 0.0
    _, zsd, _ = _weighted_corr(z, w)
    _, esd, _ = _weighted_corr(eta[:, None], w)
    scale = esd[0] if esd[0] > 0 else 1.0
    return b * zsd * max(r, 0.0) / scale, max(r, 0.0) ** 2, np.concatenate([[b0], b])
