"""Olist on gapwatch as a new user runs it: signals and alerts beside the weekly late share and reviews.

    python bench/olist.py [--data FILE] [--mode between|columns] [--baseline-start 2017-06-01
                          --baseline-days 90] [--json]

``--mode between`` (default) maps the export as it is: a delivery is the time from purchase to
delivery against the promised time from purchase to the estimated date (``between``), an order
never delivered is an open promise. ``--mode columns`` first computes ``delivery_days`` and
``promised_days`` with DuckDB (what a user had to do before ``between``; never-delivered orders
have no value and are rejected), so that an older gapwatch on ``PYTHONPATH`` can run the same
data. ``--baseline-start``/``--baseline-days`` fix the baseline window (the hand-set baseline);
without them the detection settings are the defaults.

Prints the stream's method and baseline, the weekly late share (orders promised that week that
came late or never) and mean review (answered that week) with the signals of each week, the
signals and alerts per month, and the totals. Alerts are the ones the service raises from the
stored signals (``quality.alerts.sync_from_signals``). The data set stays in ../shared (CC BY-NC-SA).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb

DEFAULT = (
    Path(__file__).resolve().parents[1]
    / ".."
    / "shared"
    / "data"
    / "olist_classified_reviews"
    / "olist_classified_public_dataset.csv"
)
HEAD = """version: 1
workspace: {name: olist, timezone: America/Sao_Paulo}
silos: {delivery: {name: Delivery}}
metrics:
  delivery_days: {unit: days, direction: lower}
lifecycle:
  - stage: fulfilment
    silo: delivery
    moments: [{key: delivery, metrics: [delivery_days]}]
expectations:
  - {moment: delivery, metric: delivery_days, adequate: 20, desired: 7, kano: must-be}
sources:
  orders:
    event_id: id
    customer_id: id
    moment: {value: delivery}
"""
BETWEEN = """    occurred_at: order_delivered_customer_date
    experiences:
      - metric: delivery_days
        value: {between: [order_purchase_timestamp, order_delivered_customer_date]}
        expected: {between: [order_purchase_timestamp, order_estimated_delivery_date]}
"""
COLUMNS = """    occurred_at: delivered_at
    experiences:
      - {metric: delivery_days, value: delivery_days, expected: promised_days}
"""


def _columns_file(data: Path, folder: Path) -> Path:
    """The export with the two durations computed by hand (the way before ``between``)."""
    out = folder / "orders_days.csv"
    duckdb.sql(
        f"""COPY (SELECT id, order_delivered_customer_date AS delivered_at,
                  date_diff('second', order_purchase_timestamp::TIMESTAMP,
                            order_delivered_customer_date::TIMESTAMP) / 86400.0 AS delivery_days,
                  date_diff('second', order_purchase_timestamp::TIMESTAMP,
                            order_estimated_delivery_date::TIMESTAMP) / 86400.0 AS promised_days
                FROM read_csv('{data}')) TO '{out}' (HEADER)"""
    )
    return out


def _weekly(data: Path) -> dict[dt.date, tuple[float | None, float | None, int]]:
    """Per week (Monday): share late among orders promised that week, mean review answered that week."""
    late = duckdb.sql(
        f"""SELECT date_trunc('week', order_estimated_delivery_date::TIMESTAMP)::DATE AS w,
                   avg(CASE WHEN order_delivered_customer_date IS NULL OR order_delivered_customer_date
                       > order_estimated_delivery_date THEN 1 ELSE 0 END), count(*)
            FROM read_csv('{data}') GROUP BY 1"""
    ).fetchall()
    review = dict(
        duckdb.sql(
            f"""SELECT date_trunc('week', review_answer_timestamp::TIMESTAMP)::DATE, avg(review_score)
                FROM read_csv('{data}') GROUP BY 1"""
        ).fetchall()
    )
    return {w: (float(p), float(review[w]) if w in review else None, int(n)) for w, p, n in late}


def run(args: argparse.Namespace) -> dict[str, Any]:
    from gapwatch.adapters.service_schema import ensure_service_schema
    from gapwatch.ingest.files import ingest_file
    from gapwatch.monitor.run import run_monitor
    from gapwatch.quality.alerts import list_alerts, sync_from_signals
    from gapwatch.workspace import Workspace, init_workspace

    folder = Path(tempfile.mkdtemp(prefix="olist-"))
    text = HEAD + (BETWEEN if args.mode == "between" else COLUMNS)
    if args.baseline_start:
        text += f"detection: {{baseline_start: {args.baseline_start}, baseline_days: {args.baseline_days}}}\n"
    path = args.data if args.mode == "between" else _columns_file(args.data, folder)
    root = init_workspace(folder / "ws", config_text=text)
    started = time.perf_counter()
    with Workspace.open(root) as ws:
        ingested = ingest_file(ws, path, "orders")
        result = run_monitor(ws.store, ws.config, clock="event")
        with ws.store.transaction() as con:
            ensure_service_schema(con)
            sync_from_signals(con, ws.lifecycle, ws.config)
            alerts = list_alerts(con)
    seconds = time.perf_counter() - started
    view = next(v for v in result.streams if v.key[1] in ("*", "all"))
    signals = list(result.signals)
    worse = [s for s in signals if getattr(s, "direction", "worse") != "better"]
    months: dict[str, Counter[str]] = {}
    for s in signals:
        months.setdefault(f"{s.period:%Y-%m}", Counter())[getattr(s, "direction", "worse") or "worse"] += 1
    for a in alerts:
        months.setdefault(f"{a.period:%Y-%m}", Counter())["alerts"] += 1
    by_week: dict[dt.date, list[str]] = {}
    for s in worse:
        by_week.setdefault(s.period - dt.timedelta(days=s.period.weekday()), []).append(
            f"{s.period:%m-%d} {s.chart}"
        )
    return {
        "mode": args.mode,
        "baseline": f"{args.baseline_start} + {args.baseline_days} days" if args.baseline_start else "found",
        "ingested": {"accepted": ingested.accepted, "rejected": ingested.rejected},
        "stream": {"key": list(view.key), "method": view.method, "note": getattr(view, "note", "")},
        "signals": len(signals),
        "worse": len(worse),
        "alerts": len(alerts),
        "alert_list": [
            {"period": a.period.isoformat(), "chart": a.chart, "signals": getattr(a, "signals", 1)}
            for a in alerts
        ],
        "months": {m: dict(c) for m, c in sorted(months.items())},
        "weeks": {w.isoformat(): v for w, v in sorted(by_week.items())},
        "first_worse": {
            chart: min(s.period for s in worse if s.chart == chart).isoformat()
            for chart in {s.chart for s in worse}
        },
        "seconds": round(seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT)
    parser.add_argument("--mode", choices=("between", "columns"), default="between")
    parser.add_argument("--baseline-start", default=None)
    parser.add_argument("--baseline-days", type=int, default=90)
    parser.add_argument("--from", dest="start", default="2017-11-20", help="first week of the weekly table")
    parser.add_argument("--to", dest="end", default="2018-04-30", help="last week of the weekly table")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not args.data.is_file():
        raise SystemExit(f"no Olist export at {args.data} (../shared/data is not in a user's clone)")
    out = run(args)
    if args.json:
        print(json.dumps(out))
        return
    print(
        f"mode {out['mode']}, baseline {out['baseline']}: {out['ingested']}; "
        f"{out['seconds']} s (shared machine)"
    )
    print(f"stream {':'.join(out['stream']['key'])}: {out['stream']['method']}; {out['stream']['note']}")
    print(
        f"signals {out['signals']} ({out['worse']} worse), alerts {out['alerts']}; first worse per chart: "
        f"{out['first_worse']}"
    )
    for a in out["alert_list"]:
        print(f"  alert {a['period']} {a['chart']}: {a['signals']} signal(s)")
    print("month     worse better alerts")
    for m, c in out["months"].items():
        print(f"{m}  {c.get('worse', 0):5d} {c.get('better', 0):6d} {c.get('alerts', 0):6d}")
    weekly = _weekly(args.data)
    lo, hi = dt.date.fromisoformat(args.start), dt.date.fromisoformat(args.end)
    print("week of      late  review  orders  worse signals that week")
    for w, (late, review, n) in sorted(weekly.items()):
        if lo <= w <= hi:
            sigs = ", ".join(out["weeks"].get(w.isoformat(), []))
            rv = f"{review:5.2f}" if review is not None else "    –"
            print(f"{w}  {late:5.0%}  {rv}  {n:6d}  {sigs}")


if __name__ == "__main__":
    main()
