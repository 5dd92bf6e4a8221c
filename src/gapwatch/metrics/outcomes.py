"""Outcome metrics: the end-of-journey NPS per week, as an Ibis expression.

NPS counts answers of 9–10 as promoters and 0–6 as detractors (Reichheld 2003); the
sufficient statistics per week are the number of answers, promoters and detractors.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

__all__ = ["OUTCOME_COLUMNS", "nps_weekly", "outcomes_table"]

OUTCOME_COLUMNS: dict[str, str] = {
    "outcome": "string",
    "customer_key": "string",
    "occurred_at": "timestamp('UTC')",
    "period": "date",
    "value": "float64",
}


def outcomes_table(name: str = "outcomes") -> ir.Table:
    """An unbound outcomes table (for compiling SQL without a database)."""
    return ibis.table(OUTCOME_COLUMNS, name=name)


def nps_weekly(outcomes: ir.Table, outcome: str = "nps") -> ir.Table:
    """Answers, promoters (9–10) and detractors (0–6) per ISO week (Monday first).

    Examples
    --------
    >>> nps_weekly(outcomes_table()).columns
    ('week', 'n', 'promoters', 'detractors')
    """
    answers = outcomes.filter((outcomes.outcome == outcome) & outcomes.value.notnull())
    week = answers.period.truncate("W").name("week")
    return answers.group_by(week).aggregate(
        n=answers.count().cast("int64"),
        promoters=(answers.value >= 9).ifelse(1, 0).sum().cast("int64"),
        detractors=(answers.value <= 6).ifelse(1, 0).sum().cast("int64"),
    )
