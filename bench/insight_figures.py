"""The insight figures of issue 12, measured on the shared real data sets and on a simulated world.

    .venv/bin/python bench/insight_figures.py [airline] [servqual] [olist] [simulated]

- airline: held-out ROC AUC of the outcome model (80/20 split of the train file, seeded) and the
  key drivers of satisfaction with 95 % bootstrap intervals (whole train file);
- servqual: P − E per SERVQUAL dimension (the 24 kiosk items grouped by gapwatch's reading of
  the items, printed below) with t intervals, through the perspectives ingest; and how each
  dimension's gap relates to the recommendation intention (Spearman ρ; relative weights);
- olist: how strongly the delivery gap (delivered − promised days) predicts the review; ROC AUC of
  a bad review (1–2) with and without the comment's learned text signal, on a time split; and the
  weeks gapwatch's delivery stream signalled beside the weeks the share of bad reviews rose;
- simulated: the journey model's AUC, calibration and median lead time at 80 % precision, and the
  leaders' optimism bias recovered from the simulated perception surveys.
Not a timed benchmark: CPU seconds are printed for orientation only.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
from scipy.stats import spearmanr

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SERVQUAL_DIMENSIONS = {  # gapwatch's grouping of the 24 K-Servqual kiosk items into SERVQUAL's five
    "tangibles": (4, 5, 22, 23, 24),
    "reliability": (1, 2, 3, 9),
    "responsiveness": (10, 11, 14),
    "assurance": (19, 20, 21, 12),
    "empathy": (6, 7, 8, 13, 15, 16, 17, 18),
}


def airline() -> None:
    from gapwatch.insight.flat import drivers_of_file, predict_files
    from gapwatch.insight.tables import read_flat

    path = SHARED / "airline_passenger_satisfaction" / "train.csv.gz"
    table = read_flat(path).table
    order = np.random.default_rng(0).permutation(table.num_rows)
    cut = int(0.8 * table.num_rows)
    with tempfile.TemporaryDirectory() as tmp:
        tr, te = Path(tmp) / "train.csv", Path(tmp) / "test.csv"
        pcsv.write_csv(table.take(pa.array(order[:cut])), tr)
        pcsv.write_csv(table.take(pa.array(order[cut:])), te)
        c0 = time.process_time()
        p = predict_files(tr, te, "satisfaction")
        print(
            f"airline: held-out AUC {p.auc:.4f}, accuracy {p.accuracy:.4f}, Brier {p.brier:.4f} "
            f"(n_test {p.n_test:,}; positive {p.target.positive!r}; CPU {time.process_time() - c0:.0f} s)"
        )
    c0 = time.process_time()
    d = drivers_of_file(path, "satisfaction", seed=0)
    cpu = time.process_time() - c0
    print(f"airline drivers of P({d.target.positive}) (R_O² {d.result.r2:.3f}; CPU {cpu:.0f} s):")
    for x in d.result.drivers[:10]:
        print(f"  {x.name:36} {x.importance:6.1%}  [{x.ci[0]:.1%}, {x.ci[1]:.1%}]")


def servqual() -> None:
    from gapwatch.adapters.duckdb_store import DuckDBStore
    from gapwatch.config import default_config
    from gapwatch.insight.drivers import key_drivers
    from gapwatch.insight.encode import Features
    from gapwatch.insight.perspectives_service import ingest_perceptions, perspectives_report
    from gapwatch.insight.tables import read_flat

    t = read_flat(SHARED / "servqual_kiosk_korea_2019" / "kiosk_servqual_en.csv").table
    rows: dict[str, list[object]] = {
        k: []
        for k in ("respondent_id", "perspective", "silo", "dimension", "item", "kind", "score", "answered_at")
    }
    for dim, items in SERVQUAL_DIMENSIONS.items():
        for i in items:
            for kind, col in (("E", f"sq{i:02d}_expectation"), ("P", f"sq{i:02d}_perception")):
                values = t.column(col).to_pylist()
                for rid, v in zip(t.column("respondent_id").to_pylist(), values, strict=True):
                    for k, x in (
                        ("respondent_id", rid),
                        ("perspective", "customer"),
                        ("silo", "all"),
                        ("dimension", dim),
                        ("item", f"sq{i:02d}"),
                        ("kind", kind),
                        ("score", v),
                        ("answered_at", "2019-09-01T12:00:00"),
                    ):
                        rows[k].append(x)
    config = default_config()
    store = DuckDBStore()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "servqual_rows.csv"
        pcsv.write_csv(pa.table(rows), path)
        counts = ingest_perceptions(store, config, path, now=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    print(
        f"servqual: {counts.accepted:,} answers accepted, {counts.rejected:,} rejected "
        f"{dict(counts.reasons)} (the 4 respondents who never used a kiosk left the items empty)"
    )
    report = perspectives_report(store.reader(), config, pooled=True)
    print("  P − E per dimension (customers, 95 % t interval):")
    for g in sorted(report.gaps, key=lambda g: g.estimate):
        if g.gap == "P-E customer":
            print(f"    {g.dimension:15} {g.estimate:+.2f}  [{g.low:+.2f}, {g.high:+.2f}]  n={g.n[0]}")
    # respondent-level gaps against the recommendation intention
    rec = np.array([np.nan if v is None else float(v) for v in t.column("recommend_intention").to_pylist()])
    gaps = []
    for items in SERVQUAL_DIMENSIONS.values():
        p = np.column_stack(
            [np.array(t.column(f"sq{i:02d}_perception").to_pylist(), dtype=float) for i in items]
        )
        e = np.column_stack(
            [np.array(t.column(f"sq{i:02d}_expectation").to_pylist(), dtype=float) for i in items]
        )
        gaps.append(np.mean(p - e, axis=1))
    x = np.column_stack(gaps)
    ok = ~np.isnan(x).any(axis=1) & ~np.isnan(rec)
    print(f"  relation to recommend_intention (n={int(ok.sum())}): Spearman ρ per dimension's P − E")
    for j, dim in enumerate(SERVQUAL_DIMENSIONS):
        r = spearmanr(x[ok, j], rec[ok])
        print(f"    {dim:15} ρ = {r.statistic:+.2f} (p = {r.pvalue:.1e})")
    overall = spearmanr(x[ok].mean(axis=1), rec[ok])
    print(f"    mean gap        ρ = {overall.statistic:+.2f} (p = {overall.pvalue:.1e})")
    names = tuple(SERVQUAL_DIMENSIONS)
    f = Features(x[ok], names, np.zeros(len(names), bool), tuple(() for _ in names))
    d = key_drivers(f, rec[ok], binary=False, seed=0)
    print(f"  relative weights of the five P − E gaps for recommend_intention (R² {d.r2:.3f}):")
    for dr in d.drivers:
        print(f"    {dr.name:15} {dr.importance:6.1%}  [{dr.ci[0]:.1%}, {dr.ci[1]:.1%}]")


def _olist_table() -> pa.Table:
    from gapwatch.insight.tables import read_flat

    return read_flat(SHARED / "olist_classified_reviews" / "olist_classified_public_dataset.csv").table


def _stamps(col: pa.ChunkedArray) -> pa.Array:
    from gapwatch.insight.tables import parse_dates

    return parse_dates(col.combine_chunks())


def _days(col: pa.ChunkedArray) -> np.ndarray:
    seconds = pc.cast(_stamps(col), pa.int64()).to_numpy(zero_copy_only=False)
    return np.asarray(seconds, dtype=float) / 86400.0


def olist() -> None:
    from gapwatch.insight.scores import auc

    t = _olist_table()
    score = np.array(t.column("review_score").to_pylist(), dtype=float)
    gap = _days(t.column("order_delivered_customer_date")) - _days(t.column("order_estimated_delivery_date"))
    known = ~np.isnan(gap)
    r = spearmanr(gap[known], score[known])
    late = gap > 0
    bad = (score <= 2).astype(float)
    print(
        f"olist: delivery gap (delivered − promised, days) vs review score: Spearman ρ {r.statistic:+.3f} "
        f"(p {r.pvalue:.0e}, n {int(known.sum()):,}); mean review late {score[known & late].mean():.2f} vs "
        f"on time {score[known & ~late].mean():.2f}; AUC of the gap alone for a 1–2 review "
        f"{auc(bad[known], gap[known]):.3f}"
    )
    _olist_text(t, bad)
    _olist_weeks(t, score, gap)


def _olist_text(t: pa.Table, bad: np.ndarray) -> None:
    from sklearn.model_selection import StratifiedKFold

    from gapwatch.insight.classifier import OutcomeClassifier
    from gapwatch.insight.encode import Encoder, Features
    from gapwatch.insight.scores import auc
    from gapwatch.insight.tables import type_columns
    from gapwatch.insight.text.learned import TextModel

    when = _days(t.column("review_answer_timestamp"))
    order = np.argsort(when)
    cut = int(0.7 * order.size)
    tr, te = order[:cut], order[cut:]
    keep = [c for c in t.column_names if not c.startswith(("votes_", "most_voted", "review_"))]
    flat = t.select(keep)
    ctr = type_columns(flat.take(pa.array(tr)))
    enc = Encoder().fit(ctr)
    ftr, fte = enc.transform(ctr, tr.size), enc.transform(type_columns(flat.take(pa.array(te))), te.size)
    base = OutcomeClassifier(seed=0).fit(ftr, bad[tr])
    a0 = auc(bad[te], base.predict_proba(fte))
    texts = t.column("review_comment_message").to_pylist()
    oof = np.zeros(tr.size)
    for a, b in StratifiedKFold(5, shuffle=True, random_state=0).split(np.zeros(tr.size), bad[tr]):
        m = TextModel().fit([texts[i] or "" for i in tr[a]], bad[tr][a])
        oof[b] = m.score([texts[i] or "" for i in tr[b]])
    full = TextModel().fit([texts[i] or "" for i in tr], bad[tr])
    test_text = full.score([texts[i] or "" for i in te])

    def plus(f: Features, s: np.ndarray) -> Features:
        return Features(
            np.column_stack([f.x, s]), (*f.names, "text"), np.r_[f.categorical, False], (*f.levels, ())
        )

    with_text = OutcomeClassifier(seed=0).fit(plus(ftr, oof), bad[tr])
    a1 = auc(bad[te], with_text.predict_proba(plus(fte, test_text)))
    a2 = auc(bad[te], test_text)
    print(
        f"  time split at {dt.datetime.fromtimestamp(when[order[cut]] * 86400, dt.UTC):%Y-%m-%d} "
        f"({tr.size:,} earlier reviews train, {te.size:,} later test): AUC of a 1–2 review "
        f"without text {a0:.3f}, with the learned text signal {a1:.3f}, text signal alone {a2:.3f}"
    )


def _olist_weeks(t: pa.Table, score: np.ndarray, gap: np.ndarray) -> None:
    from gapwatch.detectors.contract import compute_chart
    from gapwatch.ingest.files import ingest_file
    from gapwatch.monitor.run import run_monitor
    from gapwatch.workspace import Workspace, init_workspace

    purchase = _days(t.column("order_purchase_timestamp"))
    delivered = _days(t.column("order_delivered_customer_date"))
    promised = _days(t.column("order_estimated_delivery_date"))
    ok = ~np.isnan(delivered) & ~np.isnan(purchase)
    idx = np.flatnonzero(ok)
    stamps = _stamps(t.column("order_delivered_customer_date"))
    iso = pc.utf8_replace_slice(pc.cast(stamps, pa.string()), 10, 11, "T")
    orders = pa.table(
        {
            "order_no": pa.array([f"O-{i}" for i in t.column("id").to_pylist()]).take(pa.array(idx)),
            "cust_no": pa.array([f"C-{i}" for i in t.column("id").to_pylist()]).take(pa.array(idx)),
            "delivered_at": pc.binary_join_element_wise(iso, "-03:00", "").take(pa.array(idx)),
            "delivery_days": pa.array(np.round(delivered - purchase, 2)[idx]),
            "promised_days": pa.array(np.round(promised - purchase, 2)[idx]),
            "customer_tier": pa.array(["STD"] * idx.size),
            "carrier": pa.array([""] * idx.size),
            "region": t.column("customer_state").take(pa.array(idx)),
            "ordered_at": pa.array([""] * idx.size),
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        pcsv.write_csv(orders, folder / "orders.csv")
        # the sample starts thin (15 orders before May 2017): the baseline is eight weeks from June 2017
        from gapwatch.config.loader import default_config_text

        text = default_config_text().replace("baseline_start: null", "baseline_start: 2017-06-01")
        init_workspace(folder / "ws", config_text=text.replace("baseline_days: 28", "baseline_days: 56"))
        with Workspace.open(folder / "ws") as ws:
            res = ingest_file(ws, folder / "orders.csv", "orders")
            result = run_monitor(ws.store, ws.config, clock="event")
    signalled = sorted(
        {(s.period - dt.timedelta(days=s.period.weekday())) for s in result.signals if s.moment == "delivery"}
    )
    # the reviews: weekly share of 1–2 reviews by the week the review was written, p-chart on 8 baseline weeks
    written = _days(t.column("review_creation_date"))
    week = np.floor((written - 4) / 7) * 7 + 4  # Mondays (1970-01-05 was a Monday)
    weeks = np.unique(week[~np.isnan(week)])
    n = np.array([np.sum(week == w) for w in weeks], dtype=float)
    k = np.array([np.sum((week == w) & (score <= 2)) for w in weeks], dtype=float)
    chart = compute_chart("p", list(k), list(n), params={"phase1": 8})
    above = {
        int(s["index"])
        for s in chart["signals"]
        if chart["statistic"][int(s["index"])] > chart["center"][int(s["index"])]
    }
    fell = [dt.date(1970, 1, 1) + dt.timedelta(days=int(weeks[i])) for i in sorted(above) if n[i] >= 5]
    print(
        f"  delivery stream ({res.accepted:,} orders; baseline 8 weeks from 2017-06-01): signalled in "
        f"{_runs(signalled)}"
    )
    print(
        "  reviews fell (weekly share of 1–2 reviews above its p-chart limit, 8 baseline weeks): "
        f"{_runs(fell)}"
    )


def _runs(weeks: list[dt.date]) -> str:
    """Consecutive weeks as runs: '2017-11-06 … 2018-01-29 (13 weeks)'."""
    if not weeks:
        return "no week"
    runs: list[list[dt.date]] = [[weeks[0]]]
    for w in weeks[1:]:
        if (w - runs[-1][-1]).days <= 7:
            runs[-1].append(w)
        else:
            runs.append([w])
    return "; ".join(
        f"{r[0]:%Y-%m-%d}" + (f" … {r[-1]:%Y-%m-%d} ({len(r)} weeks)" if len(r) > 1 else "") for r in runs
    )


def simulated() -> None:
    from gapwatch.adapters.duckdb_store import DuckDBStore
    from gapwatch.config import default_config
    from gapwatch.ingest.files import ingest_file
    from gapwatch.insight import journey_service as js
    from gapwatch.insight.perspectives_service import ingest_perceptions, perspectives_report
    from gapwatch.simulate import simulate as sim
    from gapwatch.simulate import write_world
    from gapwatch.workspace import Workspace, init_workspace

    c0 = time.process_time()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        facts = write_world(sim(customers=20000, days=365, seed=5, incidents=4), folder / "sources")
        init_workspace(folder / "ws")
        with Workspace.open(folder / "ws") as ws:
            for name in ("web", "crm", "orders", "usage", "tickets", "survey"):
                ingest_file(ws, folder / "sources" / f"{name}.csv", name)
            data = js.load_data(ws.store.reader())
        ev = js.evaluate(data, precision=0.8, seed=0)
        print(
            f"simulated world (20,000 people, 365 days, seed 5; {facts['survey']:,} NPS answers): "
            f"trained on {ev.train_answers:,} answers before {ev.cut:%Y-%m-%d}, judged on {ev.test_answers:,}"
        )
        print(
            f"  AUC {ev.auc:.3f} (without text {ev.auc_without_text:.3f}); Brier {ev.brier:.3f}; "
            f"calibration error (ECE) {ev.calibration.ece:.3f}"
        )
        for p, o, n in zip(ev.calibration.predicted, ev.calibration.observed, ev.calibration.n, strict=True):
            print(f"    predicted {p:.2f}  observed {o:.2f}  (n {n})")
        print(
            f"  flag level {ev.threshold:.3f} chosen for 80 % precision on the training period: "
            f"{ev.flagged} test customers flagged, precision {ev.precision_reached:.2f}; "
            f"{ev.detractors_flagged} of {ev.positives_test} detractors flagged a median "
            f"{ev.lead_days_median:.1f} days before their answer "
            f"(quartiles {ev.lead_days_quartiles[0]:.1f}–{ev.lead_days_quartiles[1]:.1f})"
            if ev.lead_days_quartiles
            else "  no detractor flagged"
        )
        store = DuckDBStore()
        config = default_config()
        ingest_perceptions(
            store, config, folder / "sources" / "perceptions.csv", now=dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
        )
        report = perspectives_report(store.reader(), config, pooled=True)
        for g in report.gaps:
            if g.silo == "all" and g.dimension == "all" and g.gap in ("leader-customer", "employee-customer"):
                print(
                    f"  {g.gap}: {g.estimate:+.3f} [{g.low:+.3f}, {g.high:+.3f}] (truth: leaders +1.0, "
                    f"employees +0.3; respondents {g.n[0]}/{g.n[1]})"
                )
    print(f"  CPU {time.process_time() - c0:.0f} s")


def main() -> None:
    if not SHARED.is_dir():
        sys.exit(f"no shared data at {SHARED}")
    chosen = sys.argv[1:] or ["airline", "servqual", "olist", "simulated"]
    for name in chosen:
        {"airline": airline, "servqual": servqual, "olist": olist, "simulated": simulated}[name]()


if __name__ == "__main__":
    main()
