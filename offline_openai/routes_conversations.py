"""Routes under /v1/conversations: the conversation objects and their items."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from offline_openai.create_params import validate_metadata
from offline_openai.errors import ApiError, invalid, missing, not_found
from offline_openai.ids import hex_id
from offline_openai.items import Item, normalize_input
from offline_openai.pagination import page
from offline_openai.records import ConversationRecord
from offline_openai.routes_responses import json_body
from offline_openai.store import Store, current_store, now

bp = Blueprint("conversations", __name__)
MAX_ITEMS_PER_CALL = 20


@bp.before_request
def require_capability() -> None:
    if not current_store().config.allows("conversations"):
        # Upstreams without a Conversations API simply have no such route.
        raise ApiError(404, f"Invalid URL ({request.method} {request.path})")


@bp.post("/conversations")
def create() -> Any:
    store = current_store()
    body = request.get_json(force=True, silent=True) or {}
    if not isinstance(body, dict):
        raise invalid("We could not parse the JSON body of your request.")
    metadata = validate_metadata(body.get("metadata"), "metadata")
    with store.lock:
        items = _new_items(store, body.get("items"), "items")
        conversation = ConversationRecord(hex_id("conv"), now(), metadata, items)
        store.add_conversation(conversation)
        return conversation.body()


@bp.get("/conversations/<conversation_id>")
def retrieve(conversation_id: str) -> Any:
    store = current_store()
    with store.lock:
        return _conversation(store, conversation_id).body()


@bp.post("/conversations/<conversation_id>")
def update(conversation_id: str) -> Any:
    store = current_store()
    body = json_body()
    if "metadata" not in body:
        raise missing("metadata")
    metadata = validate_metadata(body["metadata"], "metadata")
    with store.lock:
        conversation = _conversation(store, conversation_id)
        store.set_metadata(conversation, metadata)
        return conversation.body()


@bp.delete("/conversations/<conversation_id>")
def delete(conversation_id: str) -> Any:
    store = current_store()
    with store.lock:
        _conversation(store, conversation_id)
        store.delete_conversation(conversation_id)
    return {"id": conversation_id, "object": "conversation.deleted", "deleted": True}


@bp.get("/conversations/<conversation_id>/items")
def list_items(conversation_id: str) -> Any:
    store = current_store()
    with store.lock:
        items = list(_conversation(store, conversation_id).items)
    return page(items)


@bp.post("/conversations/<conversation_id>/items")
def add_items(conversation_id: str) -> Any:
    store = current_store()
    body = json_body()
    if not isinstance(body.get("items"), list):
        raise missing("items")
    with store.lock:
        conversation = _conversation(store, conversation_id)
        items = _new_items(store, body["items"], "items")
        store.append_items(conversation, items)
    return {
        "object": "list",
        "data": items,
        "first_id": items[0]["id"] if items else "",
        "last_id": items[-1]["id"] if items else "",
        "has_more": False,
    }


@bp.get("/conversations/<conversation_id>/items/<item_id>")
def retrieve_item(conversation_id: str, item_id: str) -> Any:
    store = current_store()
    with store.lock:
        conversation = _conversation(store, conversation_id)
        for item in conversation.items:
            if item.get("id") == item_id:
                return item
    raise not_found("Item", item_id)


@bp.delete("/conversations/<conversation_id>/items/<item_id>")
def delete_item(conversation_id: str, item_id: str) -> Any:
    store = current_store()
    with store.lock:
        conversation = _conversation(store, conversation_id)
        if not store.delete_item(conversation, item_id):
            raise not_found("Item", item_id)
        return conversation.body()


def _conversation(store: Store, conversation_id: str) -> ConversationRecord:
    conversation = store.conversations.get(conversation_id)
    if conversation is None:
        raise not_found("Conversation", conversation_id)
    return conversation


def _new_items(store: Store, raw: Any, param: str) -> list[Item]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise invalid(f"Invalid type for '{param}': expected an array.", param)
    if len(raw) > MAX_ITEMS_PER_CALL:
        raise invalid(f"Invalid '{param}': at most {MAX_ITEMS_PER_CALL} items per call.", param)
    return normalize_input(raw, store.find_item, param)
