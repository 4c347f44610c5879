"""`make run`: the whole stack in the foreground under honcho, offline unless OPENAI_API_KEY is set.

Starts a redis-server of its own when none answers at REDIS_URL, the offline upstream when there
is no OpenAI key, and then also the offline weather service unless WEATHER_API_URL is set;
migrates the database; prints the URL, a token and a curl to paste.
"""

from __future__ import annotations

import os
import secrets
import shlex
import sys
from pathlib import Path
from urllib.parse import urlparse

from honcho.manager import Manager
from redis import Redis
from redis.exceptions import RedisError

from ops.stop_reason import StopWatch, stop_report
from shared.core.migrate import upgrade_database
from shared.core.settings import Settings, get_settings

DATA = Path("data")


def _redis_answers(url: str) -> bool:
    try:
        return bool(Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping())
    except RedisError:
        return False


def _dev_token() -> str:
    path = DATA / "dev-token"
    if not path.exists():
        path.write_text("gw_dev_" + secrets.token_urlsafe(24))
    return path.read_text().strip()


def offline_stand_ins(settings: Settings, env: dict[str, str], python: str) -> dict[str, str]:
    """The stand-ins to start when there is no OpenAI key (name: command), with `env` pointed at
    them: the offline upstream, and the offline weather service unless WEATHER_API_URL is set."""
    if settings.OPENAI_API_KEY:
        return {}
    port = settings.OFFLINE_OPENAI_PORT
    processes = {"offline_openai": f"{python} -m offline_openai --port {port}"}
    env["OFFLINE_OPENAI_STATE"] = settings.OFFLINE_OPENAI_STATE
    env["OPENAI_BASE_URL"] = f"http://127.0.0.1:{port}/v1"
    if not env.get("WEATHER_API_URL"):
        weather_port = settings.OFFLINE_WEATHER_PORT
        processes["offline_weather"] = f"{python} -m offline_weather --port {weather_port}"
        env["WEATHER_API_URL"] = f"http://127.0.0.1:{weather_port}/v1/forecast"
        env["GEOCODING_API_URL"] = f"http://127.0.0.1:{weather_port}/v1/search"
    return processes


def log_format(settings: Settings, on_terminal: bool) -> str:
    """Text for a person at a terminal, unless LOG_FORMAT says otherwise; JSON for a program."""
    if on_terminal and "LOG_FORMAT" not in settings.model_fields_set:
        return "text"
    return settings.LOG_FORMAT


def main() -> int:
    settings = get_settings()
    DATA.mkdir(exist_ok=True)  # beat's schedule lives here, whatever the database and token
    env = dict(os.environ)
    env["LOG_FORMAT"] = log_format(settings, sys.stdout.isatty())
    python = shlex.quote(sys.executable)
    bin_dir = Path(sys.executable).parent
    processes: dict[str, str] = {}
    if not _redis_answers(settings.REDIS_URL):
        port = urlparse(settings.REDIS_URL).port or 6379
        processes["redis"] = (
            f"redis-server --port {port} --bind 127.0.0.1 --save '' --appendonly no"
        )
    processes.update(offline_stand_ins(settings, env, python))
    token = settings.BOOTSTRAP_TOKEN or _dev_token()
    env["BOOTSTRAP_TOKEN"] = token
    upgrade_database()
    # The config binds API_PORT and keeps the worker processes' metrics (API_METRICS_DIR).
    processes["api"] = f"{bin_dir}/gunicorn -c python:api.gunicorn_config 'api:create_app()'"
    processes["worker"] = (
        f"{bin_dir}/celery -A worker worker --loglevel INFO --pool threads "
        f"--concurrency {settings.WORKER_CONCURRENCY} -Q jobs,maintenance,webhooks"
    )
    processes["beat"] = (
        f"{bin_dir}/celery -A worker beat --loglevel INFO --schedule {DATA}/celerybeat-schedule"
    )
    url = f"http://127.0.0.1:{settings.API_PORT}"
    print(
        f"\nGateway API: {url}   token: {token}\nTry:\n"
        f"  curl -s -X POST {url}/v1/chat -H 'Authorization: Bearer {token}' "
        "-H 'Content-Type: application/json' -H 'Prefer: wait=10' "
        """-d '{"message": "Hello, my name is Ada", "user_id": "alice"}'\n"""
        f"Metrics: {url}/metrics, worker :{settings.WORKER_METRICS_PORT}/metrics, "
        f"beat :{settings.BEAT_METRICS_PORT}/metrics\n",
        flush=True,
    )
    watch = StopWatch(output=sys.stdout)
    manager = Manager(printer=watch)
    for name, command in processes.items():
        manager.add_process(name, command, env=env)
    manager.loop()
    if watch.first_stop is not None:
        print("\n" + stop_report(*watch.first_stop), file=sys.stderr, flush=True)
    return manager.returncode or 0


if __name__ == "__main__":
    sys.exit(main())
