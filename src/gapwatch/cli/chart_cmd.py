"""`gapwatch chart TYPE --data FILE.csv [--param NAME=VALUE ...] [--json]`: one control chart.

A thin face over ``gapwatch.detectors.contract.compute_chart``; the CSV is read with the csv
module (columns ``value``, ``size``, ``subgroup``) so the command starts fast.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import click

from gapwatch.cli.common import emit_json, fail

# The engine's own list: this module is imported only when `gapwatch chart` runs, which needs it anyway.
from gapwatch.detectors.contract import CHART_TYPES


def _read_csv(path: Path) -> dict[str, list[str]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            if not reader.fieldnames:
                raise ValueError(f"{path}: empty file, no header")
            names = [f.strip() for f in reader.fieldnames]
            cols: dict[str, list[str]] = {n: [] for n in names}
            for row in reader:
                for raw, name in zip(reader.fieldnames, names, strict=True):
                    cols[name].append((row.get(raw) or "").strip())
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from None
    return cols


def _numbers(cols: dict[str, list[str]], name: str) -> list[float]:
    out = []
    for i, text in enumerate(cols[name]):
        try:
            v = float(text)
        except ValueError:
            raise ValueError(f"column {name}, row {i + 1}: not a number ({text!r})") from None
        if not math.isfinite(v):
            raise ValueError(f"column {name}, row {i + 1}: not a finite number ({text!r})")
        out.append(v)
    return out


def _table(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    flagged: dict[int, list[str]] = {}
    for s in result["signals"]:
        flagged.setdefault(s["index"], []).append(s["rule"])
    table = Table(title=f"{result['chart']} chart")
    for col in ("#", "statistic", "center", "lcl", "ucl", "signals"):
        table.add_column(col, justify="right" if col != "signals" else "left")

    def fmt(v: Any) -> str:
        return "" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.6g}"

    for i, stat in enumerate(result["statistic"]):
        table.add_row(
            str(i),
            fmt(stat),
            fmt(result["center"][i]),
            fmt(result["lcl"][i]),
            fmt(result["ucl"][i]),
            ", ".join(flagged.get(i, [])),
        )
    console = Console()
    console.print(table)
    if result.get("sigma") is not None and not math.isnan(result["sigma"]):
        console.print(f"sigma = {result['sigma']:.6g}")
    if result.get("runs"):
        console.print("runs: " + ", ".join(f"{k}={v}" for k, v in result["runs"].items()))
    if result.get("reason"):
        console.print(result["reason"])


@click.command("chart")
@click.argument("chart_type", metavar="TYPE", type=click.Choice(CHART_TYPES))
@click.option(
    "--data",
    "data",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="CSV with columns value, size (attribute charts) and subgroup (X̄ charts).",
)
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="phase1, exclude, revise, rules, lambda, L, k, h, fir, target, sigma, constants, mr, "
    "limits, p0, odds_ratio, arl0, laney (repeatable).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on the last line.")
def command(chart_type: str, data: Path, params: tuple[str, ...], as_json: bool) -> None:
    """Compute one control chart from a CSV file (the SPC contract)."""
    from gapwatch.detectors.contract import compute_chart, parse_params

    try:
        parsed = parse_params(params)
        cols = _read_csv(data)
        if "value" not in cols:
            raise ValueError(f"{data}: missing column 'value'")
        size = _numbers(cols, "size") if "size" in cols and chart_type != "c" else None
        subgroup = cols.get("subgroup")
        result = compute_chart(chart_type, _numbers(cols, "value"), size, subgroup, parsed)
    except ValueError as exc:
        fail(str(exc).splitlines()[0] if str(exc) else "bad input")
        return
    if as_json:
        emit_json(result)
    else:
        _table(result)
