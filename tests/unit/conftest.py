"""Unit-test setup: a temporary SQLite file, fakeredis, and Celery's in-memory broker."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import fakeredis
import pytest
from flask import Flask
from flask.testing import FlaskClient

from shared.accounts.tokens import create_token, token_cache
from shared.core import db, redis_client, settings
from shared.core.celery_app import celery_app
from shared.core.migrate import upgrade_database
from shared.jobs import status_watch


@pytest.fixture(autouse=True)
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("DOTENV_PATH", str(tmp_path / "none.env"))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'unit.db'}")
    monkeypatch.setenv("REDIS_URL", "redis://fake:6379/0")
    monkeypatch.delenv("BOOTSTRAP_TOKEN", raising=False)
    settings.get_settings.cache_clear()
    db.engine_for.cache_clear()
    server = fakeredis.FakeServer()
    monkeypatch.setattr(
        redis_client,
        "redis_for",
        lambda url, socket_timeout=2.0: fakeredis.FakeRedis(server=server, decode_responses=True),
    )
    celery_app.conf.broker_url = "memory://"
    # Each test's waits listen on its own fake Redis.
    watch = status_watch.StatusWatch()
    monkeypatch.setattr(status_watch, "watch", watch)
    token_cache.clear()
    upgrade_database()
    yield
    watch.stop()
    settings.get_settings.cache_clear()
    db.engine_for.cache_clear()


@pytest.fixture()
def sent(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Job ids the dispatcher sends to the broker, in order."""
    messages: list[str] = []
    monkeypatch.setattr("shared.jobs.dispatch.send_job", messages.append)
    return messages


@pytest.fixture()
def app() -> Flask:
    from api import create_app

    return create_app({"TESTING": True})


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture()
def token() -> str:
    return create_token("alice")[0]


@pytest.fixture()
def service_token() -> str:
    return create_token("backend", kind="service")[0]
