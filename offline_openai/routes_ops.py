"""Test and ops routes (no auth): live config, stats with the request log, reset."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from offline_openai.config import ConfigError
from offline_openai.errors import ApiError
from offline_openai.store import current_store

bp = Blueprint("offline_ops", __name__, url_prefix="/_offline")


@bp.get("/config")
def get_config() -> Any:
    return current_store().config.to_json()


@bp.put("/config")
def put_config() -> Any:
    patch = request.get_json(force=True, silent=True)
    if not isinstance(patch, dict):
        raise ApiError(400, "Expected a JSON object with the settings to change.")
    store = current_store()
    with store.lock:
        try:
            store.config = store.config.updated(patch)
        except ConfigError as exc:
            raise ApiError(400, exc.message, param=exc.name) from None
        return store.config.to_json()


@bp.get("/stats")
def stats() -> Any:
    return current_store().stats()


@bp.post("/reset")
def reset() -> Any:
    store = current_store()
    store.reset()
    return {"reset": True, "config": store.config.to_json()}
