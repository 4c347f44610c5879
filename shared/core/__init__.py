"""Infrastructure both processes stand on: settings, database, Redis, the Celery app, logging,
metrics, ids, time and errors."""
