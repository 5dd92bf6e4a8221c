"""Worlds replayed through the live path give the batch's results, period by period.

At every moment a day closes, the live service's state (every stream's statistics, chart
points, limits and signals, the open day's provisional ones included) must equal what
``gapwatch detect`` recomputes from the store at that moment; at the end, so must the
``stream_periods`` and ``signals`` tables the live service wrote row by row.
"""

from __future__ import annotations

from typing import Any

import pytest
from livehelpers import Record, event_runtime, live_config, replay, stored, synthetic_records

from gapwatch.api import Runtime
from gapwatch.config.schema import WorkspaceConfig
from gapwatch.live.state import batch_state_snapshot, compare_states, live_state_snapshot


def _replay_and_compare(records: list[Record], config: WorkspaceConfig, batch: int) -> dict[str, Any]:
    runtime = event_runtime(config)
    closes: list[int] = []

    def check(rt: Runtime) -> None:
        live = live_state_snapshot(rt)
        differences = compare_states(live, batch_state_snapshot(rt.store, config), rtol=0.0, open_rtol=1e-9)
        assert differences == [], f"closed through {live.closed_through}: {differences[:5]}"
        closes.append(live.closed_only().periods.num_rows)

    try:
        requests = replay(runtime, records, batch, on_close=check)
        live = live_state_snapshot(runtime)
        final = batch_state_snapshot(runtime.store, config)
        assert compare_states(live, final, rtol=0.0, open_rtol=1e-9) == []
        assert compare_states(stored(runtime, final.closed_through), final, rtol=0.0, open_rtol=1e-9) == []
        closed = final.closed_only()
        figures = {
            "events": len(records),
            "requests": requests,
            "closes compared": len(closes),
            "closed stream-periods": closed.periods.num_rows,
            "closed-period signals": closed.signals.num_rows,
            "provisional signals": final.signals.num_rows - closed.signals.num_rows,
            "updates": dict(runtime.live.updates),
        }
        print(f"\nlive = batch: {figures}")
        assert runtime.live.updates["streams"] > 0  # the touched-streams path was exercised
        assert runtime.live.updates["failed"] == 0
        return figures
    finally:
        runtime.close()


def test_every_closed_day_live_equals_batch() -> None:
    figures = _replay_and_compare(synthetic_records(), live_config(), batch=100)
    assert figures["closes compared"] >= 44  # every day of the 45
    assert figures["closed-period signals"] >= 10 and figures["provisional signals"] >= 1


@pytest.mark.slow
def test_simulated_world_live_equals_batch(records: list[Record], config: WorkspaceConfig) -> None:
    figures = _replay_and_compare(records, config, batch=300)
    assert figures["closes compared"] >= 50
