"""The submit floor: the bare app (bench/bare_submit_app.py) plus the one step a queued gateway
cannot skip, the job's row: one INSERT committed through SQLAlchemy Core, on the product's engine
settings, before the task is enqueued. No authentication, validation, rate limit or scheduling:
what no submit path that keeps its jobs in a database can go below
(`gunicorn 'bench.floor_submit_app:app'` with DATABASE_URL and REDIS_URL set; the bench creates
the table first with `create_table`)."""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

from flask import Flask, request
from sqlalchemy import Column, Float, MetaData, String, Table, Text, create_engine

from bench.bare_celery import noop
from shared.core.db import engine_for

FLOOR_JOBS = Table(
    "bench_floor_jobs",
    MetaData(),
    Column("id", String, primary_key=True),
    Column("user_id", String),
    Column("message", Text),
    Column("created_at", Float),
)
_INSERT = FLOOR_JOBS.insert()


def create_table(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        FLOOR_JOBS.create(engine, checkfirst=True)
    finally:
        engine.dispose()


app = Flask(__name__)


@app.post("/v1/chat")
def post_chat() -> tuple[dict[str, Any], int]:
    body = request.get_json(force=True)
    job_id = f"job_{uuid.uuid4().hex}"
    row = {
        "id": job_id,
        "user_id": body.get("user_id"),
        "message": body.get("message"),
        "created_at": time.time(),
    }
    with engine_for(os.environ["DATABASE_URL"]).begin() as connection:
        connection.execute(_INSERT, row)
    noop.apply_async(args=[job_id])
    return {"id": job_id, "object": "job", "status": "queued"}, 202


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}
