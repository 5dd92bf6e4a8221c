"""Prometheus metrics of the live service (``GET /metrics``), one registry per service.

Counted as it happens (on the writer thread, after the commit, so a count is of what is
stored): records by source, kind and status, rejections by reason, commit and detection
latencies, HTTP requests by route. Read at each scrape: the writer's queue depth, open
alerts per silo and failed webhook deliveries per silo (from the store, so they survive a
restart). Label values are bounded: a source gapwatch.yaml does not declare is ``other``,
an unknown reason code is ``other``, a route is its template (``/v1/alerts/{alert_id}``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gapwatch.collect.results import CODES, SUPPRESSED, CollectAnswer
from gapwatch.domain.experience import RejectCode
from gapwatch.ingest.batches import BatchOutcome
from gapwatch.sqlport import Sql, has_tables, rows

OTHER = "other"
REASONS = frozenset({*(c.value for c in RejectCode), *CODES, SUPPRESSED})
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Telemetry:
    """The service's metrics; ``registry`` is what ``GET /metrics`` renders.

    Parameters
    ----------
    sources
        The declared source names (labels); anything else is counted as ``other``.
    silos
        The workspace's silos (every one gets an open-alerts sample, zero included).
    queue_depth
        The writer's queue depth now.
    reader
        A read cursor of the store (a context manager), for the values read at scrape time.
    """

    def __init__(
        self,
        sources: Iterable[str],
        silos: Sequence[str],
        queue_depth: Callable[[], int],
        reader: Callable[[], AbstractContextManager[Sql]],
    ) -> None:
        self.sources = frozenset(sources)
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.received = Counter(
            "gapwatch_events_received",
            "Records received by ingest (experiences, outcomes, behaviour)",
            ["source"],
            registry=r,
        )
        self.events = Counter(
            "gapwatch_events",
            "Records by outcome: accepted, duplicate or rejected",
            ["source", "kind", "status"],
            registry=r,
        )
        self.rejected = Counter(
            "gapwatch_events_rejected", "Rejected records by reason code", ["source", "reason"], registry=r
        )
        self.commit = Histogram(
            "gapwatch_commit_seconds",
            "Writer time of one group commit (ingest, collect)",
            ["path"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.detection = Histogram(
            "gapwatch_detection_seconds",
            "Time of one live detection run",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.requests = Counter(
            "gapwatch_http_requests",
            "HTTP requests by route template, method and status",
            ["route", "method", "status"],
            registry=r,
        )
        self.request_seconds = Histogram(
            "gapwatch_http_request_seconds",
            "HTTP request latency by route template",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        r.register(_ScrapeTime(silos, queue_depth, reader))

    def source(self, name: str) -> str:
        return name if name in self.sources else OTHER

    def count(self, source: str, kind: str, results: Iterable[Any]) -> None:
        """Count records' results (objects with ``status`` and ``reason_code``)."""
        label = self.source(source)
        tally: dict[tuple[str, str | None], int] = {}
        for r in results:
            key = (r.status, r.reason_code if r.status == "rejected" else None)
            tally[key] = tally.get(key, 0) + 1
        for (status, reason), n in tally.items():
            self.received.labels(label).inc(n)
            self.events.labels(label, kind, status).inc(n)
            if reason is not None:
                self.rejected.labels(label, reason if reason in REASONS else OTHER).inc(n)

    def count_batches(self, outcomes: Iterable[BatchOutcome]) -> None:
        for o in outcomes:
            self.count(o.source, "experience", o.results)

    def count_collected(self, answers: Iterable[CollectAnswer]) -> None:
        for a in answers:
            for kind in ("experience", "outcome", "behaviour"):
                self.count(a.source, kind, [r for r in a.results if r.kind == kind])

    def count_file(self, source: str, accepted: int, duplicate: int, reasons: dict[str, int]) -> None:
        """Count a file ingested through the server (``POST /v1/files``)."""
        label = self.source(source)
        rejected = sum(reasons.values())
        self.received.labels(label).inc(accepted + duplicate + rejected)
        for status, n in (("accepted", accepted), ("duplicate", duplicate), ("rejected", rejected)):
            if n:
                self.events.labels(label, "experience", status).inc(n)
        for reason, n in reasons.items():
            self.rejected.labels(label, reason if reason in REASONS else OTHER).inc(n)


class _ScrapeTime(Collector):
    """Values read when Prometheus scrapes: queue depth, open alerts, failed webhook deliveries."""

    def __init__(
        self,
        silos: Sequence[str],
        queue_depth: Callable[[], int],
        reader: Callable[[], AbstractContextManager[Sql]],
    ) -> None:
        self.silos = list(silos)
        self.queue_depth = queue_depth
        self.reader = reader

    def describe(self) -> list[Metric]:
        return []  # values are read at scrape time only

    def collect(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily("gapwatch_writer_queue_depth", "Write jobs waiting for the single writer")
        depth.add_metric([], float(self.queue_depth()))
        yield depth
        opened = GaugeMetricFamily(
            "gapwatch_open_alerts", "Alerts whose case is not closed, per silo", labels=["silo"]
        )
        failed = CounterMetricFamily(
            "gapwatch_webhook_delivery_failures",
            "Alert deliveries to a silo's webhooks that failed after every retry (stored outcomes)",
            labels=["silo"],
        )
        counts_open: dict[str, int] = dict.fromkeys(self.silos, 0)
        counts_failed: dict[str, int] = dict.fromkeys(self.silos, 0)
        with self.reader() as con:
            if has_tables(con, "alerts", "cases"):
                for r in rows(
                    con,
                    "SELECT a.silo, count(*) AS n FROM alerts a JOIN cases c ON c.id = a.case_id "
                    "WHERE c.state <> 'closed' GROUP BY a.silo",
                ):
                    counts_open[str(r["silo"])] = int(r["n"])
            if has_tables(con, "webhooks", "webhook_deliveries"):
                for r in rows(
                    con,
                    "SELECT w.silo, count(*) AS n FROM webhook_deliveries d "
                    "JOIN webhooks w ON w.id = d.webhook_id WHERE d.status = 'failed' GROUP BY w.silo",
                ):
                    counts_failed[str(r["silo"])] = int(r["n"])
        for silo, n in counts_open.items():
            opened.add_metric([silo], float(n))
        for silo, n in counts_failed.items():
            failed.add_metric([silo], float(n))
        yield opened
        yield failed
