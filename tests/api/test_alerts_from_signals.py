"""Signals stored by the monitor become alerts on the live path, routed to the owning silo: one alert per
episode that grows with its signals, none for a "better" signal."""

from __future__ import annotations

from apihelpers import Tokens, bearer
from httpx import Client

from gapwatch.api import Runtime

SIGNALS = """
CREATE OR REPLACE TABLE signals AS SELECT * FROM (VALUES
  ('checkout', 'all', 'page_load_seconds', 'moment', DATE '2026-03-05', DATE '2026-03-05', 'day', 'p',
   'beyond_ucl', 'worse', 0.31, 0.08, 0.0, 0.2, 120, DATE '2026-01-01', DATE '2026-01-28', false),
  ('checkout', 'all', 'page_load_seconds', 'moment', DATE '2026-03-12', DATE '2026-03-12', 'day', 'p',
   'beyond_ucl', 'worse', 0.27, 0.08, 0.0, 0.2, 110, DATE '2026-01-01', DATE '2026-01-28', false),
  ('checkout', 'all', 'page_load_seconds', 'moment', DATE '2026-03-13', DATE '2026-03-13', 'day', 'ewma',
   'ewma', 'worse', -0.4, 0.0, -0.2, 0.2, 110, DATE '2026-01-01', DATE '2026-01-28', false),
  ('checkout', 'all', 'page_load_seconds', 'moment', DATE '2026-04-20', DATE '2026-04-20', 'day', 'p',
   'beyond_ucl', 'worse', 0.29, 0.08, 0.0, 0.2, 100, DATE '2026-01-01', DATE '2026-01-28', false),
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
    alerts.sort(key=lambda a: (a["period"], a["chart"]))  # (raised in one transaction: the same created_at)
    assert [(a["moment"], a["period"], a["chart"]) for a in alerts] == [  # none for the "better" signal
        ("checkout", "2026-03-05", "p"),
        ("checkout", "2026-03-13", "ewma"),  # a lower mean gap: another message, another alert
        ("checkout", "2026-04-20", "p"),
    ]
    first, gap, later = alerts
    assert (first["silo"], first["stage"], first["severity"]) == ("sales", "commitment", "critical")
    assert (first["kano"], first["adequate"], first["n"]) == ("must-be", 2.5, 120)
    assert first["baseline_start"] == "2026-01-01" and first["rule"] == "beyond_ucl"
    # the miss-rate signal a week later grew the open alert; the one five weeks later is a new episode
    assert (first["signals"], first["last_period"]) == (2, "2026-03-12")
    assert (later["signals"], later["case_id"], gap["case_id"]) == (1, first["case_id"], first["case_id"])
    case = client.get(f"/v1/cases/{first['case_id']}", headers=bearer(tokens.analyst)).json()
    assert [e["action"] for e in case["events"]] == ["open", "signal", "join", "join"]
    sales = client.get("/v1/alerts?silo=sales&state=open", headers=bearer(tokens.analyst)).json()
    assert {a["moment"] for a in sales["items"]} == {"checkout"}
