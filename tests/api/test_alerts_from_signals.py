"""Signals stored by the monitor become alerts on the live path (once each), routed to the owning silo."""

from __future__ import annotations

from apihelpers import Tokens, bearer
from httpx import Client

from gapwatch.api import Runtime

SIGNALS = """
CREATE OR REPLACE TABLE signals AS SELECT * FROM (VALUES
  ('checkout', 'all', 'page_load_seconds', 'moment', DATE '2026-03-05', DATE '2026-03-05', 'day', 'p',
   'beyond_ucl', 'worse', 0.31, 0.08, 0.0, 0.2, 120, DATE '2026-01-01', DATE '2026-01-28', false),
  ('welcome_call', 'premium', 'welcome_days', 'segment', DATE '2026-03-06', DATE '2026-03-06', 'day', 'ewma',
   'ewma', 'better', -0.5, 0.0, -0.3, 0.3, 14, DATE '2026-01-01', DATE '2026-01-28', true)
) AS t(moment, segment, metric, level, period, period_start, resolution, chart, rule, direction, statistic,
       center, lcl, ucl, n, baseline_start, baseline_end, provisional)
"""
EVENT = {
    "event_id": "s1",
    "customer_id": "C1",
    "occurred_at": "2026-03-05T10:00:00Z",
    "moment": "checkout",
    "metric": "page_load_seconds",
    "value": 2.0,
}


def test_signals_become_alerts_once(client: Client, runtime: Runtime, tokens: Tokens) -> None:
    runtime.write(lambda con: con.execute(SIGNALS))
    for n in range(2):
        r = client.post(
            "/v1/events",
            json={"source": "web", "events": [{**EVENT, "event_id": f"s{n}"}]},
            headers=bearer(tokens.admin),
        )
        assert r.status_code == 200
    alerts = client.get("/v1/alerts", headers=bearer(tokens.member_delivery)).json()["items"]
    by_moment = {a["moment"]: a for a in alerts}
    assert len(alerts) == 2
    checkout = by_moment["checkout"]
    assert (checkout["silo"], checkout["stage"], checkout["severity"]) == ("sales", "commitment", "critical")
    assert (checkout["kano"], checkout["adequate"], checkout["n"]) == ("must-be", 2.5, 120)
    assert checkout["baseline_start"] == "2026-01-01" and checkout["rule"] == "beyond_ucl"
    welcome = by_moment["welcome_call"]
    assert welcome["severity"] == "info" and welcome["provisional"] is True
    sales = client.get("/v1/alerts?silo=sales&state=open", headers=bearer(tokens.analyst)).json()
    assert [a["moment"] for a in sales["items"]] == ["checkout"]
