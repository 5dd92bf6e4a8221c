"""Alerts from signals: explained, graded by Kano class, routed to the owning silo.

:func:`raise_alert` turns one detector signal into an alert (once per signal), attaches it
to its stream's case, and returns it so the caller can notify the silo's webhooks after
the commit. :func:`sync_from_signals` does that for every signal in the monitor's
``signals`` table that has no alert yet, which is how batch and live detection both end
up as alerts.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from gapwatch.config.schema import Expectation, WorkspaceConfig
from gapwatch.domain.alerts import (
    AlertState,
    Severity,
    SignalFacts,
    Verdict,
    designed_false_alarm_rate,
    severity,
)
from gapwatch.domain.lifecycle import Lifecycle
from gapwatch.quality.cases import audit, get_case, open_or_join
from gapwatch.sqlport import Sql, has_tables, one, rows

_STATE_SQL = (
    "CASE c.state WHEN 'open' THEN 'open' WHEN 'reopened' THEN 'open' WHEN 'closed' THEN 'resolved'"
    " ELSE 'acknowledged' END"
)
_SELECT = f"SELECT a.*, {_STATE_SQL} AS state FROM alerts a JOIN cases c ON c.id = a.case_id"


class AlertNotFound(LookupError):
    """No alert with that id."""


@dataclass(frozen=True, slots=True)
class Alert:
    id: str
    case_id: str
    silo: str
    stage: str
    moment: str
    segment: str
    metric: str
    period: dt.date
    rule: str
    chart: str
    statistic: float
    center: float | None
    lcl: float | None
    ucl: float | None
    n: int
    baseline_start: dt.date | None
    baseline_end: dt.date | None
    provisional: bool
    arl0: float | None
    false_alarm_rate: float
    adequate: float | None
    desired: float | None
    kano: str | None
    severity: Severity
    state: AlertState
    verdict: Verdict | None
    verdict_by: str | None
    verdict_at: dt.datetime | None
    created_at: dt.datetime
    signal_key: str

    @property
    def stream(self) -> str:
        return f"{self.moment}/{self.segment}/{self.metric}"


def _alert(row: dict[str, Any]) -> Alert:
    row = dict(row)
    row["severity"] = Severity(row["severity"])
    row["state"] = AlertState(row["state"])
    row["verdict"] = Verdict(row["verdict"]) if row["verdict"] else None
    return Alert(**row)


def expectation_for(config: WorkspaceConfig, facts: SignalFacts) -> Expectation | None:
    """The expectation in force for the signal's stream and period (segment first, then ``all``)."""
    candidates = [
        e
        for e in config.expectations
        if e.moment == facts.moment
        and e.metric == facts.metric
        and e.segment in (facts.segment, "all")
        and e.valid_from <= facts.period
        and (e.valid_to is None or facts.period < e.valid_to)
    ]
    candidates.sort(key=lambda e: (e.segment == facts.segment, e.valid_from))
    return candidates[-1] if candidates else None


def raise_alert(
    con: Sql,
    facts: SignalFacts,
    lifecycle: Lifecycle,
    config: WorkspaceConfig,
    now: dt.datetime | None = None,
) -> Alert | None:
    """Record an alert for ``facts`` (None if that signal already has one or its moment is unknown)."""
    if facts.moment not in lifecycle.moments:
        return None
    if one(con, "SELECT id FROM alerts WHERE signal_key = ?", [facts.key]) is not None:
        return None
    now = now or dt.datetime.now(dt.UTC)
    moment = lifecycle.moments[facts.moment]
    expectation = expectation_for(config, facts)
    kano = expectation.kano if expectation else None
    alert_id = f"al_{secrets.token_hex(6)}"
    case_id = open_or_join(
        con,
        silo=moment.silo,
        stage=moment.stage,
        moment=facts.moment,
        segment=facts.segment,
        metric=facts.metric,
        period=facts.period,
        alert_id=alert_id,
        now=now,
    )
    rate = designed_false_alarm_rate(
        config.detection.false_alarms_per_week, config.workspace.period, facts.arl0
    )
    con.execute(
        "INSERT INTO alerts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
        " ?, NULL, NULL, NULL, ?)",
        [
            alert_id,
            facts.key,
            case_id,
            moment.silo,
            moment.stage,
            facts.moment,
            facts.segment,
            facts.metric,
            facts.period,
            facts.rule,
            facts.chart,
            facts.statistic,
            facts.center,
            facts.lcl,
            facts.ucl,
            facts.n,
            facts.baseline_start,
            facts.baseline_end,
            facts.provisional,
            facts.arl0 or (1.0 / rate),
            rate,
            expectation.adequate if expectation else None,
            expectation.desired if expectation else None,
            kano,
            severity(kano, worse=facts.is_worse()).value,
            now,
        ],
    )
    return get_alert(con, alert_id)


_SIGNAL_COLUMNS = (
    "moment",
    "segment",
    "metric",
    "period",
    "rule",
    "chart",
    "statistic",
    "center",
    "lcl",
    "ucl",
    "n",
    "baseline_start",
    "baseline_end",
    "provisional",
    "arl0",
    "direction",
)


def pending_signals(con: Sql) -> list[SignalFacts]:
    """Signals in the monitor's ``signals`` table that have no alert yet."""
    if not has_tables(con, "signals"):
        return []
    present = {
        r["column_name"]
        for r in rows(con, "SELECT column_name FROM information_schema.columns WHERE table_name = 'signals'")
    }
    cols = [c if c in present else f"NULL AS {c}" for c in _SIGNAL_COLUMNS]
    # qualified: inside the subquery a bare ``moment`` would be the alert's own column
    key = (
        "concat_ws('|', s.moment, coalesce(s.segment, 'all'), s.metric, strftime(s.period, '%Y-%m-%d'),"
        " coalesce(s.chart, 'chart'), coalesce(s.rule, 'signal'))"
    )
    found = rows(
        con,
        f"SELECT {', '.join(cols)} FROM signals s WHERE NOT EXISTS"
        f" (SELECT 1 FROM alerts a WHERE a.signal_key = {key}) ORDER BY period",
    )
    out = []
    for r in found:
        period = r["period"]
        if isinstance(period, dt.datetime):
            period = period.date()
        out.append(
            SignalFacts(
                moment=str(r["moment"]),
                segment=str(r["segment"] or "all"),
                metric=str(r["metric"]),
                period=period,
                rule=str(r["rule"] or "signal"),
                chart=str(r["chart"] or "chart"),
                statistic=float(r["statistic"]),
                center=_f(r["center"]),
                lcl=_f(r["lcl"]),
                ucl=_f(r["ucl"]),
                n=int(r["n"] or 0),
                baseline_start=r["baseline_start"],
                baseline_end=r["baseline_end"],
                provisional=bool(r["provisional"]),
                arl0=_f(r["arl0"]),
                worse=None if r["direction"] is None else r["direction"] == "worse",
            )
        )
    return out


def _f(value: Any) -> float | None:
    return None if value is None else float(value)


def sync_from_signals(con: Sql, lifecycle: Lifecycle, config: WorkspaceConfig) -> list[Alert]:
    """Raise an alert for every stored signal that has none yet; returns the new alerts."""
    new = [raise_alert(con, facts, lifecycle, config) for facts in pending_signals(con)]
    return [a for a in new if a is not None]


def get_alert(con: Sql, alert_id: str) -> Alert:
    row = one(con, _SELECT + " WHERE a.id = ?", [alert_id])
    if row is None:
        raise AlertNotFound(alert_id)
    return _alert(row)


def list_alerts(
    con: Sql,
    *,
    silo: str | None = None,
    stage: str | None = None,
    moment: str | None = None,
    state: str | None = None,
    severity: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Alert]:
    """Alerts, newest first, filtered by silo, stage, moment, state and severity."""
    sql = (
        f"SELECT * FROM ({_SELECT}) WHERE (? IS NULL OR silo = ?) AND (? IS NULL OR stage = ?)"
        " AND (? IS NULL OR moment = ?) AND (? IS NULL OR state = ?) AND (? IS NULL OR severity = ?)"
        " ORDER BY created_at DESC, id LIMIT ? OFFSET ?"
    )
    params = [silo, silo, stage, stage, moment, moment, state, state, severity, severity, limit, offset]
    return [_alert(r) for r in rows(con, sql, params)]


def mark_alert(con: Sql, alert_id: str, verdict: Verdict, actor: str) -> Alert:
    """Record a person's verdict (true or false alarm) on an alert, and in its case's audit trail."""
    alert = get_alert(con, alert_id)
    now = dt.datetime.now(dt.UTC)
    con.execute(
        "UPDATE alerts SET verdict = ?, verdict_by = ?, verdict_at = ? WHERE id = ?",
        [verdict.value, actor, now, alert_id],
    )
    state = get_case(con, alert.case_id).state  # a verdict changes no state: from and to are the same
    audit(
        con,
        alert.case_id,
        actor,
        "verdict",
        state,
        state,
        {"alert_id": alert_id, "verdict": verdict.value},
        now,
    )
    return get_alert(con, alert_id)


@dataclass(frozen=True, slots=True)
class FalseAlarmReport:
    designed_per_period: float
    designed_per_week: float
    observed_per_week: float | None
    alerts: int
    marked_true: int
    marked_false: int
    unmarked: int
    weeks_observed: float


def false_alarm_report(con: Sql, config: WorkspaceConfig) -> FalseAlarmReport:
    """Observed false alarms per week (alerts marked false) beside the designed rate."""
    r = one(
        con,
        "SELECT count(*) AS n, count(*) FILTER (WHERE verdict = 'true_alarm') AS t,"
        " count(*) FILTER (WHERE verdict = 'false_alarm') AS f, min(period) AS lo, max(period) AS hi"
        " FROM alerts WHERE NOT provisional",
    )
    assert r is not None
    days = (r["hi"] - r["lo"]).days + 1 if r["lo"] is not None else 0
    weeks = days / 7.0
    per_period = designed_false_alarm_rate(
        config.detection.false_alarms_per_week, config.workspace.period, None
    )
    return FalseAlarmReport(
        designed_per_period=per_period,
        designed_per_week=config.detection.false_alarms_per_week,
        observed_per_week=(r["f"] / weeks) if weeks > 0 else None,
        alerts=r["n"],
        marked_true=r["t"],
        marked_false=r["f"],
        unmarked=r["n"] - r["t"] - r["f"],
        weeks_observed=weeks,
    )
