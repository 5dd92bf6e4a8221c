"""One chart from plain columns: the library behind ``gapwatch chart`` (the SPC contract).

``compute_chart("p", value=[...], size=[...], params={"phase1": "20"})`` returns the JSON-ready
dictionary the command prints: ``chart``, ``center``, ``lcl``, ``ucl``, ``statistic``, ``sigma``,
``signals`` (``[{"index", "rule"}]``, 0-based), plus ``dispersion`` (X̄ and I charts),
``statistic_lower`` (CUSUM), ``sigma_z`` (Laney) and ``runs`` (Anhøj) where they apply.
Bad input raises ``ValueError`` with a one-line message naming the problem.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from gapwatch.detectors.factory import build_chart
from gapwatch.detectors.rules import parse_rules
from gapwatch.detectors.runchart import anhoej

__all__ = ["CHART_TYPES", "PARAMS", "compute_chart", "parse_params"]

CHART_TYPES = (
    "p",
    "np",
    "pprime",
    "c",
    "u",
    "uprime",
    "imr",
    "xbar-r",
    "xbar-s",
    "ewma",
    "cusum",
    "run",
    "bcusum",
    "g",
)
NEEDS_SIZE = ("p", "np", "pprime", "u", "uprime")
# name -> (type, help)
PARAMS: dict[str, tuple[type, str]] = {
    "phase1": (int, "limits from the first N points (subgroups); default all"),
    "exclude": (list, "0-based points left out of the limits and the runs analysis"),
    "revise": (bool, "phase I: drop out-of-control baseline points and re-estimate until stable"),
    "rules": (str, "comma list of rules or presets we, nelson, anhoej, none (default we1)"),
    "lambda": (float, "EWMA weight (default 0.2)"),
    "L": (float, "limit width in sigmas (default 3; EWMA 3)"),
    "k": (float, "CUSUM reference value in sigmas (default 0.5)"),
    "h": (float, "CUSUM / Bernoulli CUSUM decision limit (default 5 / from arl0)"),
    "fir": (float, "CUSUM head start in sigmas (default 0)"),
    "target": (float, "known process mean (EWMA, CUSUM, I, X̄)"),
    "sigma": (float, "known sigma of the plotted statistic (EWMA, CUSUM, I) or of one observation (X̄)"),
    "constants": (str, "exact|table bias-correction constants (default exact)"),
    "mr": (str, "plain|screened moving ranges (default plain)"),
    "limits": (str, "EWMA exact|asymptotic; g sigma|probability"),
    "p0": (float, "Bernoulli CUSUM in-control miss rate (default: the baseline rate)"),
    "odds_ratio": (float, "Bernoulli CUSUM odds ratio to detect (default 2)"),
    "arl0": (float, "Bernoulli CUSUM in-control ARL in events, sets h (default 2000)"),
    "laney": (str, "p/u charts: true|false|auto (default false; pprime/uprime: true)"),
}


def _bool(text: str) -> bool:
    low = text.strip().lower()
    if low in ("true", "1", "yes", "on"):
        return True
    if low in ("false", "0", "no", "off"):
        return False
    raise ValueError(f"expected true or false, got {text!r}")


def parse_params(pairs: Sequence[str]) -> dict[str, Any]:
    """``["L=2.7", "exclude=1,4"]`` -> typed values; unknown names raise ValueError."""
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        name = name.strip()
        if not sep or name not in PARAMS:
            raise ValueError(f"unknown parameter {pair!r} (known: {', '.join(PARAMS)})")
        kind = PARAMS[name][0]
        try:
            if kind is list:
                out[name] = [int(v) for v in text.split(",") if v.strip()]
            elif kind is bool:
                out[name] = _bool(text)
            elif kind is int:
                out[name] = int(text)
            elif kind is float:
                out[name] = float(text)
                if not math.isfinite(out[name]):
                    raise ValueError
            else:
                out[name] = text.strip()
        except ValueError:
            raise ValueError(f"parameter {name}: cannot read {text!r} as {kind.__name__}") from None
    for name, allowed in (("constants", ("exact", "table")), ("mr", ("plain", "screened"))):
        if name in out and out[name] not in allowed:
            raise ValueError(f"parameter {name} must be one of {', '.join(allowed)}")
    return out


def compute_chart(
    chart: str,
    value: Sequence[float],
    size: Sequence[float] | None = None,
    subgroup: Sequence[str] | None = None,
    params: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Compute one chart of one stream and return the contract's dictionary."""
    if chart not in CHART_TYPES:
        raise ValueError(f"unknown chart type {chart!r} (known: {' '.join(CHART_TYPES)})")
    p = dict(params or {})
    rules = parse_rules(p.get("rules", "anhoej" if chart == "run" else "we1"))
    p["rules"] = tuple(r for r in rules if r != "anhoej")
    x = np.asarray(value, dtype=float)
    if np.isnan(x).any():
        raise ValueError("column value: missing or non-numeric entries")
    n = None if size is None else np.asarray(size, dtype=float)
    if chart in NEEDS_SIZE and n is None:
        raise ValueError(f"chart {chart} needs a size column")
    if chart in ("xbar-r", "xbar-s") and subgroup is None:
        raise ValueError(f"chart {chart} needs a subgroup column")
    res = build_chart(chart, x, n, subgroup, p)
    out = res.to_dict(0)
    out["chart"] = chart
    for key in ("baseline", "se", "p_dispersion", "reason", "p0", "gamma", "h"):
        out.pop(key, None)
    if chart not in ("pprime", "uprime") and not (chart in ("p", "u") and p.get("laney")):
        out.pop("sigma_z", None)
    if chart in ("ewma",):
        out.pop("sigma_z", None)
    if "dispersion" in out:
        out["dispersion"] = {
            k: out["dispersion"][k] for k in ("chart", "center", "lcl", "ucl", "statistic", "signals")
        }
    if "anhoej" in rules or chart == "run":
        include = np.ones(res.shape, dtype=bool)
        if p.get("exclude"):
            include[:, [i for i in p["exclude"] if 0 <= i < res.shape[1]]] = False
        runs = res.runs if res.runs is not None else anhoej(res.statistic, res.center, include)
        out["runs"] = {k: v[0].item() for k, v in runs.items()}
    out["reason"] = res.reason[0] if res.reason else None
    return out
