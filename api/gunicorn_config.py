"""Gunicorn settings for the API: `gunicorn -c python:api.gunicorn_config 'api:create_app()'`."""

import os
from typing import Any

from shared.core.settings import get_settings

_settings = get_settings()

bind = f"{_settings.BIND_HOST}:{_settings.API_PORT}"
# gthread, answering the requests gunicorn itself refuses (a malformed header, a bad
# Content-Length, too many or too large headers) with the JSON error body, not an HTML page.
worker_class = "api.gunicorn_worker.JsonErrorThreadWorker"
workers = _settings.API_WORKERS
threads = _settings.API_THREADS
# Gunicorn's largest request line (8 KB, as proxies allow): a longer one is refused with the JSON
# 414 (the worker class above); an over-long parameter within it gets the app's JSON 422.
limit_request_line = 8190
# Clients and load balancers keep idle connections for a minute or so; gunicorn's 2 s default
# closes them first, and a request sent on a connection the server is closing fails on the
# client's side. An idle connection waits in the worker's poller, not on a thread.
keepalive = 75


def post_worker_init(_worker: object) -> None:
    """Submits arrive on many threads at once; one dispatcher thread serves their passes."""
    from shared.jobs.dispatch import dispatch_in_background

    dispatch_in_background()


def on_starting(_server: object) -> None:
    """The worker processes share one metrics directory (prometheus-client's multiprocess mode),
    emptied here so each start counts from zero. Set before any process imports the client."""
    directory = _settings.api_metrics_dir
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)


def child_exit(_server: object, worker: Any) -> None:
    """A dead worker's live gauges (upstream calls in flight) stop counting."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
