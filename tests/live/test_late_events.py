"""Late events: stored, flagged ``late``, and the periods they fall in re-judged as batch would."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
from livehelpers import event_runtime, live_config, replay, stored, synthetic_records

from gapwatch.live.state import batch_state_snapshot, compare_states, live_state_snapshot

EVERY = 25  # one event in 25 arrives after the fact


def _changed_rows(a: pa.Table, b: pa.Table) -> int:
    """Stream-periods whose statistics or chart points differ between two snapshots."""
    keys = ("moment", "segment", "metric", "period")
    rows_a = {tuple(r[k] for k in keys): r for r in a.to_pylist()}
    return sum(1 for r in b.to_pylist() if rows_a.get(tuple(r[k] for k in keys)) != r)


def test_late_events_are_flagged_and_their_periods_recomputed() -> None:
    config = live_config()
    records = synthetic_records()
    on_time = [r for i, r in enumerate(records) if i % EVERY]
    held = [r for i, r in enumerate(records) if not i % EVERY]
    runtime = event_runtime(config)
    try:
        replay(runtime, on_time, batch=200)
        before = live_state_snapshot(runtime)
        assert before.closed_through is not None
        streams_before = runtime.live.updates["streams"]
        replay(runtime, held, batch=40)
        after = live_state_snapshot(runtime)
        batch = batch_state_snapshot(runtime.store, config)
        assert compare_states(after, batch, rtol=0.0, open_rtol=1e-9) == []
        assert compare_states(stored(runtime, after.closed_through), batch, rtol=0.0, open_rtol=1e-9) == []
        late = sum(dt.date.fromisoformat(r["occurred_at"][:10]) <= before.closed_through for _, r in held)
        flagged = (
            runtime.store.query("SELECT count(*) AS n FROM experiences WHERE late").column("n")[0].as_py()
        )
        changed = _changed_rows(before.closed_only().periods, after.closed_only().periods)
        print(
            f"\n{len(held)} events sent after the fact, {flagged} of them for closed days (flagged late);"
            f" {changed} closed stream-periods re-judged; live = batch afterwards"
        )
        assert flagged == late > 0
        assert changed > 10  # closed periods were recomputed, and their signals with them
        assert runtime.live.updates["streams"] > streams_before  # by re-judging the touched streams only
    finally:
        runtime.close()
