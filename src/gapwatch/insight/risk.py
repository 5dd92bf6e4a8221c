"""Outcome risk for people: each silo's at-risk list and one customer's risk, from the stored model.

The faces (``GET /v1/risk``, ``GET /v1/customers/{id}/risk``, the web's at-risk page and the
customer page) call these two functions, so they answer alike. Scoring uses the journey model
stored by ``retrain`` on the events stored so far: a new event counts at once, without
retraining. Analytics tables hold the pseudonymous ``customer_key`` only; the customer id is
looked up in ``identities`` for the rows shown.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gapwatch.customers.journey import CustomerNotFound, require_keys
from gapwatch.domain.bounds import IdCase
from gapwatch.insight import journey_service as js

__all__ = [
    "NO_MODEL",
    "CustomerNotFound",
    "CustomerRisk",
    "RiskBoard",
    "RiskList",
    "at_risk",
    "bad_outcome",
    "board_of",
    "customer_risk",
    "service_model",
]

NO_MODEL = "no journey model yet: POST /v1/risk/model (or gapwatch predict --workspace W --retrain)"
# A service without a workspace folder (tests, an in-memory store) keeps its model on itself.
MODEL_ATTR = "_gapwatch_journey_model"
BOARD_ATTR = "_gapwatch_risk_board"


def service_model(root: Path | None, holder: object) -> js.JourneyModel | None:
    """The journey model a service scores with: the workspace's stored one, or (no folder) the one
    kept on ``holder``. Raises ValueError for a file written by another version (retrain)."""
    from gapwatch.insight.models import load_journey_model

    if root is None:
        model: js.JourneyModel | None = getattr(holder, MODEL_ATTR, None)
        return model
    stored: js.JourneyModel | None = load_journey_model(root)
    return stored


def bad_outcome(model: js.JourneyModel) -> str:
    """The outcome the model predicts, in words: ``nps <= 6``, or ``churn 1`` for a value."""
    positive = model.target.positive or ""
    return positive if positive.startswith(f"{model.outcome} ") else f"{model.outcome} {positive}".strip()


def keep_model(root: Path | None, holder: object, model: js.JourneyModel) -> None:
    """Store a newly trained model where :func:`service_model` finds it."""
    from gapwatch.insight.models import JOURNEY, save_model

    if root is None:
        setattr(holder, MODEL_ATTR, model)
    else:
        save_model(root, JOURNEY, model)


@dataclass(frozen=True, slots=True)
class CustomerRisk:
    customer_id: str | None
    risk: js.Risk | None  # None: no model, or no experience to score yet
    note: str | None = None


@dataclass(slots=True)
class RiskList:
    threshold: float | None
    scored: int
    at_risk: list[CustomerRisk] = field(default_factory=list)
    note: str | None = None
    silo: str | None = None
    scored_at: dt.datetime | None = None
    refreshing: bool = False  # a newer scoring is being made
    pending: bool = False  # no scoring of this model yet: nothing to list until it is made
    error: str | None = None  # the last background scoring failed


def _ids(con: Any, keys: list[str]) -> dict[str, str]:
    if not keys:
        return {}
    marks = ", ".join("?" for _ in keys)
    found = con.execute(
        f"SELECT customer_key, min(customer_id) FROM identities WHERE customer_key IN ({marks}) GROUP BY 1",
        keys,
    ).fetchall()
    return dict(found)


def data_stamp(con: Any) -> tuple[Any, ...]:
    """What changes when anything a scoring reads changes: events, comments, answers, identities."""
    from gapwatch.sqlport import has_tables

    parts: list[Any] = []
    for table in ("experiences", "outcomes"):
        parts += list(con.execute(f"SELECT count(*), max(ingested_at) FROM {table}").fetchone())
    parts.append(con.execute("SELECT count(*) FROM identities").fetchone()[0])
    if has_tables(con, "text_signals"):
        parts += list(con.execute("SELECT count(*), max(analysed_at) FROM text_signals").fetchone())
    return tuple(parts)


@dataclass(frozen=True, slots=True)
class Scoring:
    """Every customer on their journey, scored by one model on the data of one stamp."""

    risks: list[js.Risk]
    stamp: tuple[Any, ...]
    trained_at: dt.datetime
    scored_at: dt.datetime


def score_all(con: Any, model: js.JourneyModel, silo_of: dict[str, str]) -> Scoring:
    stamp = data_stamp(con)
    risks = js.score_customers(js.load_data(con, model.outcome), model, silo_of, explain_all=False)
    return Scoring(risks, stamp, model.trained_at, dt.datetime.now(dt.UTC))


class RiskBoard:
    """A service's kept scoring of every customer, for the at-risk lists.

    Scoring a whole workspace takes about a minute of CPU for 150,000 people, so lists read a kept
    scoring. When the events changed since, a list still answers from the kept one (saying when it
    was scored) while one background thread scores again. A first list, or one after the model
    changed, waits for its scoring (``wait``), or else is told that it is being made. One
    customer's own risk never comes from here: it is scored on their events at once.
    """

    def __init__(self) -> None:
        self._kept: Scoring | None = None
        self._lock = threading.Lock()  # guards _kept and _refreshing
        self._scoring = threading.Lock()  # one scoring at a time
        self._refreshing = False
        self.error: str | None = None

    def scoring(
        self,
        open_reader: Callable[[], AbstractContextManager[Any]],
        model: js.JourneyModel,
        silo_of: dict[str, str],
        *,
        wait: bool = True,
    ) -> tuple[Scoring | None, bool]:
        """The scoring to list from (None: there is none of this model yet and ``wait`` is False),
        and whether a newer one is being made."""
        with open_reader() as con:
            stamp = data_stamp(con)
        with self._lock:
            kept = self._kept
            usable = kept is not None and kept.trained_at == model.trained_at
            if usable and kept is not None and kept.stamp == stamp:
                return kept, self._refreshing
            if usable or not wait:
                if not self._refreshing:
                    self._refreshing = True
                    threading.Thread(
                        target=self._refresh,
                        args=(open_reader, model, silo_of),
                        name="gapwatch-risk-scoring",
                        daemon=True,
                    ).start()
                return (kept if usable else None), True
        with self._scoring:  # the caller waits for a first scoring (or a new model's)
            kept = self._kept
            if kept is None or kept.trained_at != model.trained_at:
                with open_reader() as con:
                    kept = score_all(con, model, silo_of)
                with self._lock:
                    self._kept = kept
            return kept, False

    def _refresh(
        self,
        open_reader: Callable[[], AbstractContextManager[Any]],
        model: js.JourneyModel,
        silo_of: dict[str, str],
    ) -> None:
        try:
            with self._scoring, open_reader() as con:
                fresh = score_all(con, model, silo_of)
            with self._lock:
                if self._kept is None or fresh.trained_at >= self._kept.trained_at:
                    self._kept = fresh
                self.error = None
        except Exception as exc:  # the kept list stays; the failure is shown beside it
            self.error = (str(exc).splitlines() or [type(exc).__name__])[0][:300]
        finally:
            with self._lock:
                self._refreshing = False


def board_of(holder: object) -> RiskBoard:
    """The service's board (kept on the service object, like its model)."""
    board: RiskBoard | None = getattr(holder, BOARD_ATTR, None)
    if board is None:
        board = RiskBoard()
        setattr(holder, BOARD_ATTR, board)
    return board


def at_risk(
    open_reader: Callable[[], AbstractContextManager[Any]],
    model: js.JourneyModel | None,
    silo_of: dict[str, str],
    *,
    silo: str | None = None,
    limit: int = 50,
    board: RiskBoard | None = None,
    wait: bool = True,
) -> RiskList:
    """Customers still on their journey whose risk crossed the model's flag level, riskiest first;
    with ``silo``, those with a reason (a moment behind their risk) in that silo. With a ``board``
    the scoring kept by the service is used (see :class:`RiskBoard`); without ``wait``, a list
    asked for before the first scoring is done is empty and says so (``pending``)."""
    if model is None:
        return RiskList(None, 0, note=NO_MODEL, silo=silo)
    if board is not None:
        kept, refreshing = board.scoring(open_reader, model, silo_of, wait=wait)
        if kept is None:
            note = "scoring every customer on their journey for the first time with this model"
            return RiskList(model.threshold, 0, note=note, silo=silo, refreshing=True, pending=True)
        scoring = kept
    else:
        with open_reader() as con:
            scoring, refreshing = score_all(con, model, silo_of), False
    risks = scoring.risks
    mine = [r for r in risks if r.flagged and (silo is None or any(x.silo == silo for x in r.reasons))]
    with open_reader() as con:
        # a key without an identity was erased since the scoring: it is not listed
        ids = _ids(con, [r.customer_key for r in mine[: limit * 2 + 10]])
    rows = [CustomerRisk(ids[r.customer_key], r) for r in mine if r.customer_key in ids][:limit]
    return RiskList(
        model.threshold,
        len(risks),
        rows,
        silo=silo,
        scored_at=scoring.scored_at,
        refreshing=refreshing,
        error=board.error if board is not None else None,
    )


def customer_risk(
    con: Any,
    model: js.JourneyModel | None,
    silo_of: dict[str, str],
    customer_id: str,
    case_rules: Sequence[IdCase] = ("lower",),
) -> CustomerRisk:
    """One customer's risk from their own events so far and the moments behind it.

    ``case_rules``: the identifier case rules in use (:func:`gapwatch.domain.bounds.id_cases`).
    Raises :class:`CustomerNotFound` for an id never seen (or erased)."""
    keys = require_keys(con, customer_id, case_rules)
    if model is None:
        return CustomerRisk(customer_id, None, NO_MODEL)
    data = js.load_data(con, model.outcome, customers=keys)
    risks = js.score_customers(data, model, silo_of, customers=keys)
    if not risks:
        return CustomerRisk(customer_id, None, "no experience of this customer to score yet")
    return CustomerRisk(customer_id, risks[0])
