"""The metrics ports of the worker and of beat (the API serves its own at /metrics).

Beat also reports the backlog, read at each scrape: Celery queue lengths in Redis and the
database's unfinished jobs. There is exactly one beat, so each of those is one series however
many workers run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping

from prometheus_client import REGISTRY, Gauge, start_http_server
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from shared.core import metrics
from shared.jobs.operations import active_jobs, queue_depths

log = logging.getLogger(__name__)


def serve_metrics(host: str, port: int) -> None:
    """Serve this process's metrics on `host`:`port` (port 0: not at all). A port in use costs
    the metrics, not the process."""
    if port == 0:
        return
    try:
        start_http_server(port, addr=host)
    except OSError as exc:
        log.warning("metrics not served: port %s: %s", port, exc)
        return
    log.info("metrics served on port %s", port)


def serve_beat_metrics(host: str, port: int) -> None:
    REGISTRY.register(BacklogCollector())
    serve_metrics(host, port)


class BacklogCollector(Collector):
    """Queue depth and unfinished jobs as they are when scraped."""

    def collect(self) -> Iterator[Metric]:
        yield from _read(metrics.QUEUE_DEPTH, queue_depths)
        yield from _read(metrics.ACTIVE_JOBS, active_jobs)


def _read(gauge: Gauge, source: Callable[[], Mapping[str, int]]) -> Iterable[Metric]:
    """`gauge` set from `source` now; without samples when the source is away (Prometheus then
    sees the series absent rather than a stale value), and the scrape goes on."""
    gauge.clear()
    try:
        values = source()
    except Exception as exc:
        log.warning("metric not read: %s", exc)
        return []
    for label, value in values.items():
        gauge.labels(label).set(value)
    return gauge.collect()
