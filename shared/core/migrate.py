"""Bring the database schema to the newest Alembic revision (`python -m shared.core.migrate`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

ROOT = Path(__file__).resolve().parents[2]


def upgrade_database(url: str | None = None) -> None:
    config = Config(toml_file=str(ROOT / "pyproject.toml"))
    if url:
        config.attributes["database_url"] = url
    command.upgrade(config, "head")


if __name__ == "__main__":
    upgrade_database()
