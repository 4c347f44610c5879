"""Gunicorn settings for the API: `gunicorn -c python:api.gunicorn_config 'api:create_app()'`."""

from shared.settings import get_settings

_settings = get_settings()

bind = f"0.0.0.0:{_settings.API_PORT}"
worker_class = "gthread"
workers = _settings.API_WORKERS
threads = _settings.API_THREADS
# Gunicorn would answer an over-long request line with its own HTML page; let the app answer
# (an over-long parameter gets the JSON 422 every other bad input gets).
limit_request_line = 0
