"""`gapwatch predict --workspace`: evaluate, retrain, or list the customers at risk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from gapwatch.cli.common import emit_json, fail


def _open(workspace: Path, read_only: bool) -> Any:
    from gapwatch.workspace import Workspace

    try:
        return Workspace.open(workspace, read_only=read_only)
    except (FileNotFoundError, ValueError) as exc:
        fail(str(exc).splitlines()[0])
        raise AssertionError from exc


def run(
    workspace: Path,
    outcome: str | None,
    positive: str | None,
    seed: int,
    evaluate: bool,
    retrain: bool,
    precision: float,
    silo: str | None,
    limit: int,
    as_json: bool,
) -> None:
    from gapwatch.insight import journey_service as js
    from gapwatch.insight.models import JOURNEY, load_journey_model, save_model
    from gapwatch.insight.retraining import risk_target

    ws = _open(workspace, read_only=not retrain)
    with ws:
        outcome, positive = risk_target(ws.config.risk, outcome, positive)  # default: gapwatch.yaml's risk:
        data = js.load_data(ws.store.reader(), outcome)
        try:
            if evaluate:
                result = js.evaluate(data, outcome, positive, precision, seed)
                _evaluation(result.as_dict(), as_json)
                return
            if retrain:
                model = js.train(data, outcome, positive, seed, precision)
                path = save_model(ws.root, JOURNEY, model)
                summary = {
                    "answers": model.answers,
                    "threshold": model.threshold,
                    "precision": model.precision,
                    "moments": list(model.moments),
                    "text_model": model.text is not None,
                    "path": str(path),
                }
                if as_json:
                    emit_json(summary)
                else:
                    click.echo(
                        f"journey model trained on {model.answers:,} answers; "
                        f"flag level {model.threshold:.3f} "
                        f"(precision {model.precision:.0%} on the last quarter); stored in {path}"
                    )
                return
            model = load_journey_model(ws.root)
        except ValueError as exc:
            fail(str(exc))
            return
        if model is None:
            fail("no journey model yet: run `gapwatch predict --workspace W --retrain` first")
            return
        silo_of = {m: ws.lifecycle.silo_of(m) for m in ws.lifecycle.moments}
        risks = js.score_customers(data, model, silo_of, explain_all=False)
        ids = _customer_ids(ws.store.reader(), [r.customer_key for r in risks])
    if silo is not None:
        risks = [r for r in risks if any(x.silo == silo for x in r.reasons)]
    flagged = [r for r in risks if r.flagged][:limit]
    rows = [
        {
            "customer_id": ids.get(r.customer_key),
            "risk": r.risk,
            "as_of": r.as_of.isoformat(),
            "reasons": [
                {
                    "moment": x.moment,
                    "silo": x.silo,
                    "misses": x.misses,
                    "worst_gap": x.worst_gap,
                    "risk_drop": x.risk_drop,
                }
                for x in r.reasons
            ],
        }
        for r in flagged
    ]
    if as_json:
        emit_json({"threshold": model.threshold, "scored": len(risks), "at_risk": rows})
        return
    _at_risk(rows, len(risks), model.threshold, silo)


def _customer_ids(con: Any, keys: list[str]) -> dict[str, str]:
    if not keys:
        return {}
    found = con.execute(
        "SELECT customer_key, min(customer_id) FROM identities WHERE customer_key IN "
        f"({', '.join('?' for _ in keys)}) GROUP BY customer_key",
        keys,
    ).fetchall()
    return dict(found)


def fmt(v: float | None, spec: str = ".3f") -> str:
    return "–" if v is None else format(v, spec)


def _evaluation(d: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(d)
        return
    click.echo(
        f"outcome {d['outcome']} (positive: {d['positive']}); trained on {d['train_answers']:,} answers "
        f"before {d['cut'][:10]}, judged on {d['test_answers']:,} later ({d['positives_test']:,} positive)"
    )
    click.echo(
        f"ROC AUC {fmt(d['auc'])} (without text {fmt(d['auc_without_text'])}) · Brier {fmt(d['brier'])} "
        f"· calibration error {fmt(d['calibration']['ece'])}"
    )
    click.echo(
        f"flag level {fmt(d['threshold'])} (chosen for {d['precision_target']:.0%} precision on the training "
        f"period): {d['flagged']:,} flagged, precision {fmt(d['precision_reached'])}; "
        f"{d['detractors_flagged']:,} positives flagged a median {fmt(d['lead_days_median'], '.1f')} days "
        "before their answer"
    )
    cal = d["calibration"]
    for p, o, n in zip(cal["predicted"], cal["observed"], cal["n"], strict=True):
        click.echo(f"  predicted {p:5.2f}  observed {o:5.2f}  n {n}")


def _at_risk(rows: list[dict[str, Any]], scored: int, threshold: float, silo: str | None) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"At-risk customers{' of ' + silo if silo else ''} ({len(rows)} of {scored:,} scored; "
        f"flag level {threshold:.2f})"
    )
    for col in ("customer", "risk", "as of", "reasons (moment: risk it adds)"):
        table.add_column(col, justify="right" if col == "risk" else "left")
    for r in rows:
        reasons = "; ".join(f"{x['moment']} ({x['silo']}): +{x['risk_drop']:.0%}" for x in r["reasons"])
        table.add_row(str(r["customer_id"]), f"{r['risk']:.0%}", r["as_of"][:10], reasons or "–")
    Console().print(table)
