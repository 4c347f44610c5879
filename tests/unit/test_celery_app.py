"""The Celery app's settings that the worker's hundreds of threads depend on."""

from __future__ import annotations

import threading

from shared.core.celery_app import celery_app


def test_a_workers_threads_share_the_result_backend_made_at_start() -> None:
    """Celery otherwise makes a backend for every thread, reading every installed package's
    entry points each time (4.6 ms of CPU), when each of a worker's threads runs its first task."""
    made_at_start = celery_app.backend  # as the worker's banner makes it, before any task
    seen: list[object] = []
    threads = [threading.Thread(target=lambda: seen.append(celery_app.backend)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(backend is made_at_start for backend in seen)
