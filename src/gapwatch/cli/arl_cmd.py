"""`gapwatch arl --chart shewhart|ewma|cusum --shift D [--param ...] --json`: Monte-Carlo ARL.

A thin face over ``gapwatch.detectors.arl.simulate_arl``.
"""

from __future__ import annotations

import click

from gapwatch.cli.common import emit_json, fail

PARAMS = {
    "L": float,
    "lambda": float,
    "k": float,
    "h": float,
    "rules": str,
    "limits": str,
    "runs": int,
    "seed": int,
    "max_length": int,
}


@click.command("arl")
@click.option("--chart", "chart", required=True, type=click.Choice(["shewhart", "ewma", "cusum"]))
@click.option("--shift", "shift", required=True, type=float, help="Shift in sigmas of the plotted statistic.")
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="L, lambda, k, h, rules, limits=asymptotic|exact, runs (20000), seed, max_length (100000).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on the last line.")
def command(chart: str, shift: float, params: tuple[str, ...], as_json: bool) -> None:
    """Estimate a chart's average run length by Monte-Carlo."""
    from gapwatch.detectors.arl import simulate_arl

    kwargs: dict[str, object] = {}
    for pair in params:
        name, sep, text = pair.partition("=")
        if not sep or name not in PARAMS:
            fail(f"unknown parameter {pair!r} (known: {', '.join(PARAMS)})")
        try:
            kwargs["lam" if name == "lambda" else name] = PARAMS[name](text)
        except ValueError:
            fail(f"parameter {name}: cannot read {text!r}")
    try:
        res = simulate_arl(chart, shift, **kwargs)  # type: ignore[arg-type]
    except (ValueError, TypeError) as exc:
        fail(str(exc))
        return
    out = {
        "arl": res.arl,
        "ci": list(res.ci),
        "runs": res.runs,
        "censored": res.censored,
        "max_length": res.max_length,
    }
    if as_json:
        emit_json(out)
    else:
        click.echo(
            f"ARL = {res.arl:.4g}  (95% CI {res.ci[0]:.4g} .. {res.ci[1]:.4g}; {res.runs} runs, "
            f"{res.censored} censored at {res.max_length})"
        )
