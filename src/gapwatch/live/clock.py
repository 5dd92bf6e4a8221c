"""The service's clock: which periods are closed (DESIGN.md, "Clocks and periods").

Two clocks decide when a period (a day in the workspace time zone) closes:

* ``"wall"`` (the default of ``gapwatch serve``): a day closes when the wall clock has passed
  its end plus the grace delay, so events of live systems that arrive a few minutes late
  still land in an open period;
* ``"event"`` (replays, ``gapwatch serve --clock event``): a day closes when the data have
  moved past it plus the grace delay: the latest event seen is later than the day's end
  plus grace. Replaying a year takes as long as the machine needs, not a year.

With a zero grace both are exactly the batch monitor's rule
(:func:`gapwatch.monitor.run.closed_through`), which this module calls.

Examples
--------
>>> import datetime as dt
>>> last = dt.datetime(2026, 3, 5, 0, 30, tzinfo=dt.UTC)
>>> ServiceClock("event", "UTC").closed_through(last)
datetime.date(2026, 3, 4)
>>> ServiceClock("event", "UTC", grace_seconds=3600).closed_through(last)
datetime.date(2026, 3, 3)
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal
from zoneinfo import ZoneInfo

__all__ = ["DEFAULT_GRACE", "ClockKind", "PeriodTicker", "ServiceClock"]

ClockKind = Literal["wall", "event"]
#: Grace delays when none is configured: a replay arrives in order; live systems straggle.
DEFAULT_GRACE: dict[str, float] = {"event": 0.0, "wall": 900.0}
log = logging.getLogger(__name__)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class ServiceClock:
    """Which days are closed, by the wall clock or by event time, after a grace delay.

    Parameters
    ----------
    kind
        ``"wall"`` or ``"event"``.
    timezone
        The workspace time zone (periods are its days).
    grace_seconds
        How long after a day's end it stays open; ``None`` takes :data:`DEFAULT_GRACE`.
    now
        The wall clock (replaced in tests).
    """

    kind: ClockKind
    timezone: str
    grace_seconds: float | None = None
    now: Callable[[], dt.datetime] = field(default=_utc_now, compare=False)

    @property
    def grace(self) -> dt.timedelta:
        seconds = DEFAULT_GRACE[self.kind] if self.grace_seconds is None else self.grace_seconds
        return dt.timedelta(seconds=seconds)

    def closed_through(self, last_event: dt.datetime | None) -> dt.date | None:
        """The last closed day; ``None`` on the event clock before any event (nothing is closed)."""
        from gapwatch.monitor.run import closed_through

        if self.kind == "event":
            if last_event is None:
                return None
            ref = last_event if last_event.tzinfo else last_event.replace(tzinfo=dt.UTC)
            return closed_through(ref - self.grace, self.timezone, "event", None)
        return closed_through(None, self.timezone, "wall", self.now() - self.grace)

    def seconds_to_next_close(self) -> float:
        """Wall-clock seconds until the current day closes (its end plus grace)."""
        zone = ZoneInfo(self.timezone)
        now = self.now()
        local = (now - self.grace).astimezone(zone)
        next_midnight = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(), zone)
        due = next_midnight.astimezone(dt.UTC) + self.grace
        return max((due - now).total_seconds(), 0.0)


class PeriodTicker:
    """Close periods on the wall clock even when no event arrives: ``fire`` at each close.

    A daemon thread sleeps until the next close (a day's end plus grace) and then calls
    ``fire`` (which submits the close to the service's single writer). :meth:`stop` ends it.
    """

    def __init__(self, clock: ServiceClock, fire: Callable[[], object], *, margin: float = 1.0) -> None:
        self.clock = clock
        self.fire = fire
        self.margin = margin  # fire a little after the boundary, never just before it
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gapwatch-period-ticker", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.clock.seconds_to_next_close() + self.margin):
            try:
                self.fire()
            except Exception:  # a failed close is retried at the next one (and on the next event)
                log.exception("closing the period failed")

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout=timeout)
