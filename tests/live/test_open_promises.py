"""Open promises in the live service: an order not delivered is missed the moment its promise passes.

A file of orders (a source mapped with ``between``) arrives while the service runs; some are not
delivered yet and their promised date lies ahead of the clock, so they are stored pending. When
later events move the clock past the promise, the live service marks them missed on the day they
fell due and its state is exactly the batch's; the delivery, when it comes, replaces the row.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import yaml
from livehelpers import START, event_runtime, live_config, replay, synthetic_records

from gapwatch.config import default_config_text, parse_config
from gapwatch.live.state import batch_state_snapshot, compare_states, live_state_snapshot
from gapwatch.monitor.promises import pending_promises

PROMISES = {
    "event_id": "order",
    "customer_id": "customer",
    "occurred_at": "delivered",
    "moment": {"value": "delivery"},
    "segment": {"value": "standard"},
    "experiences": [
        {
            "metric": "delivery_days",
            "value": {"between": ["ordered", "delivered"]},
            "expected": {"between": ["ordered", "promised"]},
        }
    ],
}
DUE = START + dt.timedelta(days=24)  # promised for day 24, never delivered by then


def _config() -> object:
    """The live tests' workspace (the default template, a short baseline) with the orders source."""
    raw = yaml.safe_load(default_config_text())
    raw["detection"]["baseline_days"] = live_config().detection.baseline_days
    raw["sources"]["promises"] = PROMISES
    return parse_config(yaml.safe_dump(raw))


def _day(record: tuple[str, dict[str, str]]) -> dt.date:
    return dt.date.fromisoformat(record[1]["occurred_at"][:10])


def _write(path: Path, delivered: str) -> Path:
    rows = ["order,customer,ordered,promised,delivered"]
    ordered = (START + dt.timedelta(days=18)).isoformat()
    rows += [f"P{k},C{k},{ordered}T10:00:00+00:00,{DUE}T18:00:00+00:00,{delivered}" for k in range(6)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_open_promises_fall_due_live_as_in_batch(tmp_path: Path) -> None:
    config = _config()
    records = synthetic_records()
    runtime = event_runtime(config)  # type: ignore[arg-type]
    try:
        replay(runtime, [r for r in records if _day(r) < START + dt.timedelta(days=20)], batch=200)
        result = runtime.writer.call(runtime.ingest_file_job(_write(tmp_path / "open.csv", ""), "promises"))
        assert result.accepted == 6
        with runtime.reader() as con:
            assert pending_promises(con) == 6  # not due yet: no status, neither met nor missed
        replay(runtime, [r for r in records if _day(r) >= START + dt.timedelta(days=20)], batch=200)
        assert runtime.live.closed_through is not None and runtime.live.closed_through > DUE
        missed = runtime.store.query(
            "SELECT status, period FROM experiences WHERE event_id LIKE 'P%' ORDER BY event_id"
        ).to_pylist()
        assert missed == [{"status": -1, "period": DUE}] * 6  # missed on the day they fell due
        live = live_state_snapshot(runtime)
        assert (
            compare_states(live, batch_state_snapshot(runtime.store, config), rtol=0.0, open_rtol=1e-9) == []
        )  # type: ignore[arg-type]
        # the deliveries come in at last: the same six experiences, still missed on the promise's day
        late = f"{DUE + dt.timedelta(days=3)}T12:00:00+00:00"
        again = runtime.writer.call(runtime.ingest_file_job(_write(tmp_path / "late.csv", late), "promises"))
        assert (again.accepted, again.counts.updated) == (6, 6)
        rows = runtime.store.query(
            "SELECT count(*) AS n, min(status) AS lo, max(status) AS hi, min(period) AS d FROM experiences"
            " WHERE event_id LIKE 'P%'"
        ).to_pylist()[0]
        assert rows == {"n": 6, "lo": -1, "hi": -1, "d": DUE}
        live = live_state_snapshot(runtime)
        assert (
            compare_states(live, batch_state_snapshot(runtime.store, config), rtol=0.0, open_rtol=1e-9) == []
        )  # type: ignore[arg-type]
    finally:
        runtime.close()
