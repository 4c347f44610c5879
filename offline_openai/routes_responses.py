"""Routes under /v1/responses: create, retrieve (optionally streamed), cancel, delete, inputs."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, request

from offline_openai.create_params import conversation_id_of, parse_create
from offline_openai.errors import ApiError, invalid, not_found
from offline_openai.generation import stream_live, stream_stored
from offline_openai.items import raw_last_user_text
from offline_openai.pagination import page
from offline_openai.records import ResponseRecord
from offline_openai.responses_service import create_response
from offline_openai.store import Store, current_store

bp = Blueprint("responses", __name__)


@bp.post("/responses")
def create() -> Any:
    store = current_store()
    config = store.config
    body = json_body()
    entry = store.log_request(_log_entry(body))
    record, generation = create_response(store, parse_create(body), config)
    with store.lock:
        entry["response_id"] = record.id
    wants_stream = body.get("stream") is True
    if record.background:
        with store.lock:
            created = record.body()
        generation.start_in_background()
        return sse(stream_stored(record, -1)) if wants_stream else created
    if wants_stream:
        return sse(stream_live(generation))
    generation.drain()
    with store.lock:
        return record.body()


@bp.get("/responses/<response_id>")
def retrieve(response_id: str) -> Any:
    store = current_store()
    _require_retrieve(store)
    record = _record(store, response_id)
    if request.args.get("stream", "").lower() in ("true", "1"):
        if not record.background:
            raise invalid("Only responses created with background=true can be streamed.", "stream")
        raw_after = request.args.get("starting_after", "-1")
        try:
            starting_after = int(raw_after)
        except ValueError:
            raise invalid(
                "Invalid 'starting_after': expected an integer.", "starting_after"
            ) from None
        return sse(stream_stored(record, starting_after))
    with store.lock:
        return record.body()


@bp.post("/responses/<response_id>/cancel")
def cancel(response_id: str) -> Any:
    store = current_store()
    _require_retrieve(store)
    record = _record(store, response_id)
    if not record.background:
        raise invalid("Only responses created with background=true can be cancelled.", None)
    with store.lock:
        if not record.finished:
            record.finish("cancelled", record.partial_output_tokens)
            store.save_response(record)
        return record.body()


@bp.delete("/responses/<response_id>")
def delete(response_id: str) -> Any:
    store = current_store()
    with store.lock:
        record = _record(store, response_id)
        if not record.finished:
            record.finish("cancelled", record.partial_output_tokens)
        store.delete_response(response_id)
    return {"id": response_id, "object": "response", "deleted": True}


@bp.get("/responses/<response_id>/input_items")
def input_items(response_id: str) -> Any:
    store = current_store()
    record = _record(store, response_id)
    return page(list(record.input_items))


def json_body() -> dict[str, Any]:
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        raise invalid(
            "We could not parse the JSON body of your request. (HINT: This likely means you "
            "aren't using your HTTP library correctly.)"
        )
    return body


def sse(frames: Iterator[bytes]) -> Response:
    return Response(frames, mimetype="text/event-stream", headers={"Cache-Control": "no-cache"})


def _require_retrieve(store: Store) -> None:
    if not store.config.allows("retrieve"):
        raise ApiError(500, "retrieve not supported", type="server_error", code="server_error")


def _record(store: Store, response_id: str) -> ResponseRecord:
    with store.lock:
        record = store.responses.get(response_id)
    if record is None:
        raise not_found("Response", response_id)
    return record


def _log_entry(body: dict[str, Any]) -> dict[str, Any]:
    metadata = body.get("metadata")
    job_id = metadata.get("job_id") if isinstance(metadata, dict) else None
    return {
        "received_at": time.time(),
        "job_id": job_id if isinstance(job_id, str) else None,
        "conversation": conversation_id_of(body.get("conversation")),
        "previous_response_id": body.get("previous_response_id"),
        "input_text": raw_last_user_text(body.get("input")),
        "stream": body.get("stream") is True,
        "background": body.get("background") is True,
        "model": body.get("model"),
        # Every other field as sent (max_output_tokens, temperature, tool_choice, …).
        "params": {name: value for name, value in body.items() if name != "input"},
        "response_id": None,
        # Which connection the call came on: a client that reuses its connections shows few.
        "client_port": request.environ.get("REMOTE_PORT"),
    }
