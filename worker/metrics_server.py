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
from sqlalchemy import func, select

from shared import job_states, metrics, task_names
from shared.db import read_session
from shared.models import Job
from shared.redis_client import get_redis

log = logging.getLogger(__name__)

QUEUES = (task_names.JOBS_QUEUE, task_names.MAINTENANCE_QUEUE)


def serve_metrics(port: int) -> None:
    """Serve this process's metrics on `port` (0: not at all). A port in use costs the metrics,
    not the process."""
    if port == 0:
        return
    try:
        start_http_server(port)
    except OSError as exc:
        log.warning("metrics not served: port %s: %s", port, exc)
        return
    log.info("metrics served on port %s", port)


def serve_beat_metrics(port: int) -> None:
    REGISTRY.register(BacklogCollector())
    serve_metrics(port)


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


def queue_depths() -> dict[str, int]:
    pipe = get_redis().pipeline(transaction=False)
    for queue in QUEUES:
        pipe.llen(queue)
    return dict(zip(QUEUES, pipe.execute(), strict=True))


def active_jobs() -> dict[str, int]:
    """Served by the (status, …) indexes: only unfinished rows are counted."""
    query = (
        select(Job.status, func.count())
        .where(Job.status.in_(job_states.ACTIVE))
        .group_by(Job.status)
    )
    with read_session() as session:
        counts = {status: count for status, count in session.execute(query)}
    return {status: counts.get(status, 0) for status in sorted(job_states.ACTIVE)}
