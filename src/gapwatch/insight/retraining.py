"""Retraining the journey model: a separate step from scoring, on demand or on a schedule.

Scoring never retrains (a new event re-scores a customer with the stored model at once). The
model is refitted on every outcome answer so far when an admin asks (``POST /v1/risk/model``,
``gapwatch predict --workspace W --retrain``) and, in a running service, when the stored model is
older than ``risk.retrain_every_days`` (gapwatch.yaml; 0 turns the schedule off). The schedule
only refreshes a model that exists: the first one is an explicit step, because it decides what
the at-risk lists mean (outcome, positive class). One retraining runs at a time; scoring keeps the
previous model until the new one is stored.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gapwatch.insight import journey_service as js
from gapwatch.insight import risk as risk_svc

__all__ = ["RetrainJob", "RetrainSchedule", "Retrainer", "retrainer_of", "retraining_due", "risk_target"]

log = logging.getLogger(__name__)
RETRAINER_ATTR = "_gapwatch_retrainer"
CHECK_SECONDS = 3600.0  # how often the schedule looks at the model's age


def risk_target(section: Any, outcome: str | None, positive: str | None) -> tuple[str, str | None]:
    """The outcome and positive class a journey model is trained on: the caller's, else the
    workspace's ``risk:`` section (``section``), else nps with detractors (``<=6``). Every face
    (CLI ``--retrain``, ``POST /v1/risk/model``, ``gw.predict``) resolves it here."""
    chosen = outcome or section.outcome
    if positive is None and chosen == section.outcome:
        positive = section.positive
    return chosen, positive if positive is not None else ("<=6" if chosen == "nps" else None)


def retraining_due(trained_at: dt.datetime | None, now: dt.datetime, every_days: float) -> bool:
    """Whether the schedule retrains now: a stored model at least ``every_days`` old (0: never)."""
    if every_days <= 0 or trained_at is None:
        return False
    return now - trained_at >= dt.timedelta(days=every_days)


@dataclass
class RetrainJob:
    state: str = "none"  # none | running | ready | failed
    error: str | None = None
    trigger: str | None = None  # "request" or "schedule"
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    thread: threading.Thread | None = field(default=None, repr=False)


class Retrainer:
    """One service's retraining: at most one job at a time, its last state kept for status."""

    def __init__(
        self, open_reader: Callable[[], AbstractContextManager[Any]], root: Path | None, holder: object
    ) -> None:
        self._open_reader = open_reader
        self._root = root
        self._holder = holder  # where a service without a folder keeps its model
        self._lock = threading.Lock()
        self.job = RetrainJob()

    def start(self, outcome: str, positive: str | None, trigger: str = "request") -> RetrainJob:
        """Start a retraining in the background unless one is running; the (running) job."""
        with self._lock:
            if self.job.state != "running":
                self.job = RetrainJob("running", None, trigger, dt.datetime.now(dt.UTC))
                self.job.thread = threading.Thread(
                    target=self._run, args=(self.job, outcome, positive), name="gapwatch-retrain", daemon=True
                )
                self.job.thread.start()
            return self.job

    def _run(self, job: RetrainJob, outcome: str, positive: str | None) -> None:
        try:
            with self._open_reader() as con:
                data = js.load_data(con, outcome)
            model = js.train(data, outcome, positive)
            risk_svc.keep_model(self._root, self._holder, model)
            job.state, job.error = "ready", None
        except Exception as exc:  # the job's failure is its status (GET /v1/risk/model)
            job.state, job.error = "failed", (str(exc).splitlines() or [type(exc).__name__])[0][:500]
            log.warning("retraining the journey model failed: %s", job.error)
        finally:
            job.finished_at = dt.datetime.now(dt.UTC)

    def check(self, every_days: float, now: dt.datetime | None = None) -> RetrainJob | None:
        """Retrain the stored model with its own outcome and positive class when it is due."""
        try:
            model = risk_svc.service_model(self._root, self._holder)
        except ValueError:  # a model file of another version: the first retraining is an admin's call
            return None
        now = now or dt.datetime.now(dt.UTC)
        if model is None or not retraining_due(model.trained_at, now, every_days):
            return None
        failed = self.job.finished_at if self.job.state == "failed" else None
        if failed is not None and not retraining_due(failed, now, every_days):
            return None  # a failed attempt is not repeated before another period has passed
        return self.start(model.outcome, _positive_of(model), trigger="schedule")


def _positive_of(model: js.JourneyModel) -> str | None:
    """The ``positive`` argument that reproduces the model's target (``nps <= 6`` → ``<=6``)."""
    t = model.target
    if t.op is not None and t.bound is not None:
        return f"{t.op}{t.bound:g}"
    return t.positive


def retrainer_of(holder: Any) -> Retrainer:
    """The service's retrainer (kept on the service object, like its model)."""
    found: Retrainer | None = getattr(holder, RETRAINER_ATTR, None)
    if found is None:
        found = Retrainer(holder.reader, holder.settings.workspace, holder)
        setattr(holder, RETRAINER_ATTR, found)
    return found


class RetrainSchedule:
    """A daemon thread that looks at the model's age every ``check_seconds`` and retrains when due."""

    def __init__(self, retrainer: Retrainer, every_days: float, check_seconds: float = CHECK_SECONDS) -> None:
        self.retrainer = retrainer
        self.every_days = every_days
        self.check_seconds = check_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="gapwatch-retrain-schedule", daemon=True)
        if every_days > 0:
            self._thread.start()

    def _loop(self) -> None:
        wait = min(60.0, self.check_seconds)  # a first look soon after the service starts
        while not self._stop.wait(wait):
            wait = self.check_seconds
            try:
                self.retrainer.check(self.every_days)
            except Exception:  # looked at again at the next check
                log.exception("the retraining schedule's check failed")

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=timeout)
