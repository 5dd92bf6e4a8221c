"""A slow or huge webhook receiver hurts nobody else (issue 9, item 9).

Real receivers on 127.0.0.1 (threads; allowed through the admin's ``webhook_allow_hosts``,
the only way loopback is reachable) and the real outbound adapter: a receiver trickling one
byte every two seconds, one offering a 4 GiB body, one sending headers without end. The
alerts of other silos — and of the same silo's other webhook — arrive within their normal
latency, memory stays flat, and each bad receiver is cut off at the attempt's deadline.
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
from collections.abc import Iterator

import pytest
from apihelpers import make_runtime, seed_alert, signal
from receivers import Receivers, RssPeak, receivers

from gapwatch.domain.alerts import Severity
from gapwatch.quality.alerts import get_alert
from gapwatch.quality.webhooks import WebhookKind, create_webhook, list_deliveries, list_webhooks
from gapwatch.serve.runtime import Runtime

DEADLINE = 1.0
STREAMS = {
    "delivery": ("delivery", "premium", "delivery_days"),
    "sales": ("quote", "standard", "quote_turnaround_hours"),
    "success": ("support_ticket", "standard", "first_response_hours"),
}
DAYS = itertools.count()


@pytest.fixture
def setup() -> Iterator[tuple[Runtime, Receivers]]:
    with receivers(trickle=2.0) as rx:
        runtime = make_runtime(
            webhook_allow_hosts=("127.0.0.1",),
            webhook_timeout_seconds=DEADLINE,
            webhook_max_attempts=2,
            webhook_backoff_seconds=0.2,
        )
        try:
            yield runtime, rx
        finally:
            runtime.close()


def _hook(runtime: Runtime, silo: str, url: str) -> str:
    hook = runtime.write(
        lambda c: create_webhook(
            c, silo=silo, url=url, kind=WebhookKind.JSON, min_severity=Severity.MINOR, actor="test"
        )
    )
    return hook.id


def _notify(runtime: Runtime, silo: str) -> tuple[str, float]:
    moment, segment, metric = STREAMS[silo]
    day = dt.date(2026, 3, 2) + dt.timedelta(days=next(DAYS))  # a new alert each time
    alert_id = seed_alert(runtime, signal(moment=moment, segment=segment, metric=metric, period=day))
    with runtime.reader() as con:
        alert = get_alert(con, alert_id)
    assert alert.silo == silo
    t0 = time.monotonic()
    runtime.notifier.notify([alert])
    return alert_id, t0


def _wait_for(rx: Receivers, path: str, alert_id: str, timeout: float = 10.0) -> float:
    """When ``alert_id`` arrived at ``path`` (time.monotonic())."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = [s for s in rx.arrivals(path) if s.path == path and s.body["alert"]["id"] == alert_id]
        if got:
            return got[0].at
        time.sleep(0.005)
    raise AssertionError(f"alert {alert_id} did not arrive at {path}")


def _latency(runtime: Runtime, rx: Receivers, silo: str, path: str) -> float:
    alert_id, t0 = _notify(runtime, silo)
    return _wait_for(rx, path, alert_id) - t0


def test_a_slow_and_a_huge_receiver_delay_no_other_webhook_or_silo(setup: tuple[Runtime, Receivers]) -> None:
    runtime, rx = setup
    _hook(runtime, "sales", rx.url("/ok-sales"))
    normal = _latency(runtime, rx, "sales", "/ok-sales")  # the normal latency, nothing slow around
    runtime.notifier.drain()
    slow = _hook(runtime, "delivery", rx.url("/slow"))
    huge = _hook(runtime, "delivery", rx.url("/huge"))
    endless = _hook(runtime, "delivery", rx.url("/headers"))
    _hook(runtime, "delivery", rx.url("/ok-delivery"))
    _hook(runtime, "success", rx.url("/ok-success"))
    rss = RssPeak()
    delivery, t_delivery = _notify(runtime, "delivery")  # first in line: the bad receivers get it first
    time.sleep(0.05)
    sales, t_sales = _notify(runtime, "sales")
    success, t_success = _notify(runtime, "success")
    latencies = {
        "same silo, other webhook": _wait_for(rx, "/ok-delivery", delivery) - t_delivery,
        "sales": _wait_for(rx, "/ok-sales", sales) - t_sales,
        "success": _wait_for(rx, "/ok-success", success) - t_success,
    }
    later = [
        _latency(runtime, rx, "sales", "/ok-sales") for _ in range(3)
    ]  # while the slow one still trickles
    latencies["sales, later"] = max(later)
    runtime.notifier.drain(timeout=30)
    grew = rss.stop()
    shown = ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in latencies.items())
    print(
        f"\nnormal latency {normal * 1000:.1f} ms; beside slow/huge receivers: {shown}; RSS +{grew >> 20} MiB"
    )
    assert all(v < normal + 0.5 for v in latencies.values()), (normal, latencies)
    assert grew < 64 << 20  # 4 GiB offered: only the status line and headers are read
    assert rx.huge_bytes_sent < 256 << 20  # the client hung up after the head (socket buffers aside)
    with runtime.reader() as con:
        outcome = {h: list_deliveries(con, h)[0] for h in (slow, huge, endless)}
        everything = [d for h in list_webhooks(con) for d in list_deliveries(con, h.id)]
    assert outcome[huge].status == "delivered" and outcome[huge].http_status == 200
    assert outcome[slow].status == "failed" and outcome[slow].error == "no answer within the deadline"
    assert outcome[slow].attempts == 2
    assert outcome[endless].status == "failed" and outcome[endless].error == "not an HTTP answer"
    assert {d.status for d in everything if d.webhook_id not in outcome} == {"delivered"}


def test_a_slow_receiver_is_cut_off_at_the_deadline_not_kept_alive_by_each_byte(
    setup: tuple[Runtime, Receivers],
) -> None:
    runtime, rx = setup
    rx.trickle = 0.3  # a byte well within any per-read timeout, the whole answer far beyond the deadline
    hook = _hook(runtime, "delivery", rx.url("/slow"))
    t0 = time.monotonic()
    _notify(runtime, "delivery")
    runtime.notifier.drain(timeout=30)
    took = time.monotonic() - t0
    with runtime.reader() as con:
        [delivery] = list_deliveries(con, hook)
    assert delivery.status == "failed" and delivery.error == "no answer within the deadline"
    assert took < 2 * DEADLINE + 0.2 + 1.0  # two attempts of one deadline each, one back-off, slack


def test_a_redirect_is_not_followed(setup: tuple[Runtime, Receivers]) -> None:
    runtime, rx = setup
    hook = _hook(runtime, "delivery", rx.url("/redirect"))
    _notify(runtime, "delivery")
    runtime.notifier.drain()
    with runtime.reader() as con:
        [delivery] = list_deliveries(con, hook)
    assert delivery.status == "failed" and delivery.http_status == 302 and delivery.attempts == 1
    assert len(rx.arrivals("/redirect")) == 1
