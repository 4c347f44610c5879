"""The metrics ports of the worker and of beat (the API serves its own at /metrics), open to
the same callers as the API's: METRICS_TOKEN as a bearer token, or without one loopback only.

Beat also reports the backlog, read at each scrape: Celery queue lengths in Redis and the
database's unfinished jobs. There is exactly one beat, so each of those is one series however
many workers run.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from http import HTTPStatus
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from prometheus_client import REGISTRY, Gauge, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from shared.core import metrics
from shared.core.error_body import answer_for
from shared.core.metrics_access import metrics_refusal
from shared.jobs.operations import active_jobs, queue_depths
from shared.webhooks.sweep import oldest_pending_seconds

log = logging.getLogger(__name__)


def serve_metrics(host: str, port: int, token: str) -> WSGIServer | None:
    """Serve this process's metrics on `host`:`port` (port 0: not at all) from a thread. A port
    in use costs the metrics, not the process."""
    if port == 0:
        return None
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        server_class = type("MetricsServer", (ThreadingWSGIServer,), {"address_family": family})
        server: WSGIServer = make_server(
            host, port, guarded(make_wsgi_app(), token), server_class, _QuietHandler
        )
    except OSError as exc:
        log.warning("metrics not served: port %s: %s", port, exc)
        return None
    threading.Thread(target=server.serve_forever, name="metrics-server", daemon=True).start()
    log.info("metrics served on port %s", port)
    return server


def serve_beat_metrics(host: str, port: int, token: str) -> None:
    REGISTRY.register(BacklogCollector())
    serve_metrics(host, port, token)


def guarded(app: WSGIApplication, token: str) -> WSGIApplication:
    """`app`, answering the callers metrics_refusal refuses with the error body instead."""

    def guarded_app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        refusal = metrics_refusal(
            token, environ.get("HTTP_AUTHORIZATION"), environ.get("REMOTE_ADDR")
        )
        if refusal is None:
            return app(environ, start_response)
        status_code, error, extra_headers = answer_for(refusal)
        body = json.dumps(error).encode()
        status = HTTPStatus(status_code)
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        start_response(f"{status.value} {status.phrase}", headers + list(extra_headers.items()))
        return [body]

    return guarded_app


class _QuietHandler(WSGIRequestHandler):
    """Scrapes come every few seconds: no line on stderr for each."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


class BacklogCollector(Collector):
    """Queue depth, unfinished jobs and the oldest pending webhook as they are when scraped."""

    def collect(self) -> Iterator[Metric]:
        yield from _read(metrics.QUEUE_DEPTH, queue_depths)
        yield from _read(metrics.ACTIVE_JOBS, active_jobs)
        yield from _read_one(metrics.WEBHOOK_OLDEST_PENDING, oldest_pending_seconds)


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


def _read_one(gauge: Gauge, source: Callable[[], float]) -> Iterable[Metric]:
    """An unlabelled gauge read as `_read` reads a labelled one."""
    try:
        gauge.set(source())
    except Exception as exc:
        log.warning("metric not read: %s", exc)
        return []
    return gauge.collect()
