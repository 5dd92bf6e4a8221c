"""`simulate_arl` against published ARL tables and an independent Markov-chain ARL."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import norm

from gapwatch.detectors.arl import simulate_arl

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
ARL_JSON = SHARED / "spc" / "arl.json"
needs_shared = pytest.mark.skipif(not ARL_JSON.is_file(), reason="../shared/spc/arl.json not present")


def _entries() -> dict[str, dict[str, object]]:
    return {e["id"]: e for e in json.loads(ARL_JSON.read_text())["entries"]}


def _agrees(mc: float, ci: tuple[float, float], ref: float, printed_unit: float = 0.0) -> bool:
    """Within 4 standard errors of Monte-Carlo error plus half a printed unit."""
    se = (ci[1] - ci[0]) / (2 * 1.96)
    return abs(mc - ref) <= 4 * se + printed_unit / 2


RULE_COLUMNS = {"C1": "we1", "C12": "we1,we2", "C13": "we1,we3", "C14": "we1,we4"}


@pytest.mark.shared
@needs_shared
@pytest.mark.parametrize("column", list(RULE_COLUMNS))
@pytest.mark.parametrize("delta", [0.0, 1.0, 2.0])
def test_shewhart_runs_rules_match_champ_woodall(column: str, delta: float) -> None:
    entry = _entries()["shewhart-runs-rules-champ-woodall"]
    published = entry["published"][column][entry["delta"].index(delta)]  # type: ignore[index,union-attr]
    res = simulate_arl("shewhart", delta, rules=RULE_COLUMNS[column], runs=20000, seed=11)
    assert _agrees(res.arl, res.ci, float(published), 0.01), (res, published)


@pytest.mark.shared
@needs_shared
@pytest.mark.parametrize(
    ("entry_id", "h"), [("cusum-two-sided-k0.5-h4", 4.0), ("cusum-two-sided-k0.5-h5", 5.0)]
)
@pytest.mark.parametrize("delta", [0.0, 0.5, 1.0, 2.0])
def test_cusum_matches_tables(entry_id: str, h: float, delta: float) -> None:
    entry = _entries()[entry_id]
    ref = entry["arl_computed"][entry["delta"].index(delta)]  # type: ignore[index,union-attr]
    res = simulate_arl("cusum", delta, k=0.5, h=h, runs=20000, seed=5)
    assert _agrees(res.arl, res.ci, float(ref)), (res, ref)


def markov_ewma_arl(lam: float, L: float, delta: float, m: int = 301) -> float:
    """Zero-state ARL of a two-sided EWMA with asymptotic limits (Lucas & Saccucci 1990 method)."""
    h = L * math.sqrt(lam / (2 - lam))
    edges = np.linspace(-h, h, m + 1)
    mid = (edges[:-1] + edges[1:]) / 2
    start = (1 - lam) * mid[:, None]
    upper = norm.cdf((edges[None, 1:] - start) / lam - delta)
    lower = norm.cdf((edges[None, :-1] - start) / lam - delta)
    q = upper - lower
    arl = np.linalg.solve(np.eye(m) - q, np.ones(m))
    return float(np.interp(0.0, mid, arl))


# Montgomery, Introduction to SQC, Table 9.11 (from Lucas & Saccucci 1990), ARL0 = 500 designs
LS_TABLE = {
    (0.10, 2.814): {0.0: 500, 0.5: 31.3, 1.0: 10.3, 2.0: 4.4, 3.0: 2.9},
    (0.05, 2.615): {0.0: 500, 0.5: 28.8, 1.0: 11.4, 2.0: 5.2},
    (0.20, 2.962): {0.5: 41.8, 1.0: 10.5, 2.0: 3.7},
    (0.40, 3.054): {0.5: 71.2, 1.0: 14.3, 2.0: 3.5},
}


@pytest.mark.parametrize(("design", "delta"), [(d, x) for d, row in LS_TABLE.items() for x in row])
def test_markov_chain_reproduces_lucas_saccucci(design: tuple[float, float], delta: float) -> None:
    published = LS_TABLE[design][delta]
    got = markov_ewma_arl(*design, delta)
    assert abs(got - published) <= max(0.05 * published if delta == 0 else 0.0, 0.06 + 0.005 * published)


def test_markov_chain_matches_sas_ewmaarl() -> None:
    # SAS/QC documentation, EWMAARL(1.00, 0.25, 3.0) = 11.154267016 (Crowder's method)
    assert markov_ewma_arl(0.25, 3.0, 1.0, m=601) == pytest.approx(11.154267016, rel=2e-3)


@pytest.mark.parametrize(
    ("lam", "L", "delta"),
    [(0.1, 2.814, 0.0), (0.1, 2.814, 1.0), (0.2, 2.962, 0.5), (0.05, 2.615, 2.0), (0.25, 3.0, 1.0)],
)
def test_simulated_ewma_agrees_with_markov_chain(lam: float, L: float, delta: float) -> None:
    res = simulate_arl("ewma", delta, lam=lam, L=L, runs=20000, seed=3)
    ref = markov_ewma_arl(lam, L, delta)
    assert _agrees(res.arl, res.ci, ref), (res, ref)


def test_exact_limits_signal_sooner_than_asymptotic() -> None:
    exact = simulate_arl("ewma", 0.0, lam=0.1, L=2.814, limits="exact", runs=4000, seed=9)
    asym = simulate_arl("ewma", 0.0, lam=0.1, L=2.814, limits="asymptotic", runs=4000, seed=9)
    assert exact.arl < asym.arl


def test_censoring_is_reported_and_estimated() -> None:
    res = simulate_arl("shewhart", 0.0, L=3.0, runs=4000, seed=2, max_length=200)
    assert res.censored > 0
    assert 300 < res.arl < 450  # exponential-tail estimate still near 370
