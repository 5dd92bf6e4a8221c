"""A silo's inbox: its cases with their alerts, active and most severe first.

One row per case (an alert opens a case for its stream or joins the active one): the case's
state, how many alerts it gathered, the most severe of them (severity follows the expectation's
Kano class) and its latest alert, on which a person records a true or false alarm verdict.
Active cases come first, then by severity, then the newest signal.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from gapwatch.domain.alerts import Severity
from gapwatch.domain.cases import CaseAction, CaseState, allowed_actions
from gapwatch.quality.alerts import Alert, get_alert
from gapwatch.quality.cases import Case, CaseEvent, case_events, case_from_row
from gapwatch.sqlport import Sql, has_tables, rows

__all__ = ["InboxItem", "TimelineEntry", "case_timeline", "inbox", "inbox_item"]

_RANK = {s.value: s.rank for s in Severity}


@dataclass(frozen=True)
class InboxItem:
    case: Case
    alerts: int
    worst: Severity
    latest: Alert
    first_period: dt.date  # the period of the case's first alert

    @property
    def stream_id(self) -> str:
        return f"{self.case.moment}:{self.case.segment}:{self.case.metric}"

    @property
    def active(self) -> bool:
        return self.case.state is not CaseState.CLOSED

    @property
    def actions(self) -> list[CaseAction]:
        """What a person may do next (a reopen comes from the stream, never by hand)."""
        return [a for a in allowed_actions(self.case.state) if a is not CaseAction.REOPEN]

    @property
    def last_change(self) -> dt.datetime:
        return self.case.updated_at


_SQL = """
SELECT c.*, agg.alerts, agg.worst, agg.latest_id, agg.first_period FROM cases c JOIN (
    SELECT case_id, count(*) AS alerts,
           max(CASE severity WHEN 'critical' THEN 3 WHEN 'major' THEN 2 WHEN 'minor' THEN 1 ELSE 0 END)
             AS worst,
           arg_max(id, created_at) AS latest_id, min(period) AS first_period
    FROM alerts GROUP BY case_id) agg ON agg.case_id = c.id
WHERE (? IS NULL OR c.silo = ?) AND (? IS NULL OR c.id = ?)
"""


def _items(con: Sql, silo: str | None, case_id: str | None) -> list[InboxItem]:
    if not has_tables(con, "cases", "alerts"):
        return []
    found = rows(con, _SQL, [silo, silo, case_id, case_id])
    by_rank = {s.rank: s for s in Severity}
    out = []
    for r in found:
        extra = {k: r.pop(k) for k in ("alerts", "worst", "latest_id", "first_period")}
        out.append(
            InboxItem(
                case_from_row(r),
                int(extra["alerts"]),
                by_rank[int(extra["worst"])],
                get_alert(con, extra["latest_id"]),
                extra["first_period"],
            )
        )
    return out


def inbox(con: Sql, *, silo: str | None = None, limit: int = 200) -> list[InboxItem]:
    """Cases of ``silo`` (every silo when None): active first, then most severe, then newest signal."""
    items = _items(con, silo, None)
    items.sort(key=lambda i: (not i.active, -i.worst.rank, -i.latest.created_at.timestamp(), i.case.id))
    return items[:limit]


def inbox_item(con: Sql, case_id: str) -> InboxItem | None:
    """One case as the inbox shows it (None when it has no alert, or does not exist)."""
    found = _items(con, None, case_id)
    return found[0] if found else None


@dataclass(frozen=True)
class TimelineEntry:
    """One line of a case's timeline: an audit event, or a run of alerts that joined the case."""

    event: CaseEvent
    joined: int = 0  # further alerts folded into this line (a run of "join" events)
    last_period: str | None = None


def case_timeline(con: Sql, case_id: str) -> list[TimelineEntry]:
    """The case's audit trail, with each run of consecutive alerts joining it folded into one line."""
    out: list[TimelineEntry] = []
    for e in case_events(con, case_id):
        prev = out[-1] if out else None
        if e.action == "join" and prev is not None and prev.event.action == "join":
            out[-1] = TimelineEntry(prev.event, prev.joined + 1, str(e.detail.get("period", "")))
        else:
            out.append(TimelineEntry(e))
    return out
