"""The end-of-journey NPS reproduces olist's late-delivery effect (real data in ../shared)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from gapwatch.simulate import simulate, write_world

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
OLIST = SHARED / "data" / "olist_classified_reviews" / "olist_classified_public_dataset.csv"
TOLERANCE = 0.25  # review points on the 1-5 scale; the simulated effect's SE is about 0.07

pytestmark = [
    pytest.mark.shared,
    pytest.mark.skipif(not OLIST.exists(), reason=f"real olist data not found at {OLIST} (../shared absent)"),
]


def real_effect() -> tuple[float, float]:
    """Mean review of orders delivered on time or early, and of those delivered late."""
    frame = pd.read_csv(OLIST)
    promised = pd.to_datetime(frame["order_estimated_delivery_date"])
    delivered = pd.to_datetime(frame["order_delivered_customer_date"])
    known = delivered.notna()
    late = delivered > promised
    return (
        float(frame.loc[known & ~late, "review_score"].mean()),
        float(frame.loc[known & late, "review_score"].mean()),
    )


def simulated_effect(out: Path) -> tuple[float, float]:
    """From the files only: respondents with a late delivery before answering vs all on time (1-5 scale)."""
    orders, survey = pd.read_csv(out / "orders.csv"), pd.read_csv(out / "survey.csv")
    orders["late"] = orders["delivery_days"] > orders["promised_days"]
    orders["at"] = pd.to_datetime(orders["delivered_at"], utc=True)
    survey["answered"] = pd.to_datetime(survey["answered_at"], utc=True)
    joined = survey.merge(orders, left_on="customer", right_on="cust_no")
    joined = joined[joined["at"] < joined["answered"]]
    per = joined.groupby("customer").agg(late=("late", "any"), score=("score", "first"))
    review = 1 + 4 * per["score"] / 10
    return float(review[~per["late"]].mean()), float(review[per["late"]].mean())


def test_late_delivery_costs_what_it_costs_in_olist(tmp_path: Path) -> None:
    on_time, late = real_effect()
    assert (round(on_time, 2), round(late, 2)) == (3.78, 2.08)
    write_world(simulate(customers=40000, days=180, seed=3, incidents=0), tmp_path)
    sim_on_time, sim_late = simulated_effect(tmp_path)
    print(f"simulated on time {sim_on_time:.2f} vs late {sim_late:.2f}; olist {on_time:.2f} vs {late:.2f}")
    assert abs((sim_on_time - sim_late) - (on_time - late)) < TOLERANCE
    assert abs(sim_on_time - on_time) < 0.4 and abs(sim_late - late) < 0.4
