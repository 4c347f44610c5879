"""Creating a response: gather its context, ask the model, register the record."""

from __future__ import annotations

import dataclasses

from offline_openai.config import OfflineConfig
from offline_openai.create_params import CreateParams
from offline_openai.errors import ApiError, invalid, not_found
from offline_openai.generation import Generation
from offline_openai.ids import response_id
from offline_openai.items import Item, normalize_input
from offline_openai.model import ModelRequest, answer
from offline_openai.records import ResponseRecord
from offline_openai.store import Store, now


def create_response(
    store: Store, params: CreateParams, config: OfflineConfig
) -> tuple[ResponseRecord, Generation]:
    if params.conversation_id and not config.allows("conversations"):
        raise invalid(
            "This upstream does not support conversations.",
            "conversation",
            code="unsupported_parameter",
        )
    if params.previous_response_id and not config.allows("previous_response"):
        raise invalid(
            "This upstream does not support previous_response_id.",
            "previous_response_id",
            code="unsupported_parameter",
        )
    if params.echo["safety_identifier"] is not None and not config.allows("safety_identifier"):
        raise invalid(
            "Unknown parameter: 'safety_identifier'.", "safety_identifier", "unknown_parameter"
        )
    background = params.background and config.allows("background")
    with store.lock:
        history = _history(store, params)
        input_items = normalize_input(params.raw_input, store.find_item)
    file_ids = _file_ids([*history, *input_items])
    model_answer = answer(
        ModelRequest(
            model=params.model,
            history=history,
            input_items=input_items,
            tools=params.tools,
            tool_choice=params.tool_choice,
            parallel_tool_calls=params.parallel_tool_calls,
            text_format=params.text_format,
            max_output_tokens=params.max_output_tokens,
            file_names=store.file_names(file_ids),
        )
    )
    record = ResponseRecord(
        id=response_id(config.response_id_length),
        model=params.model,
        created_at=now(),
        changed=store.new_condition(),
        echo=params.echo,
        background=background,
        conversation_id=params.conversation_id,
        previous_response_id=params.previous_response_id,
        input_items=input_items,
        input_tokens=model_answer.input_tokens,
        status="queued" if background else "in_progress",
    )
    with store.lock:
        if params.store:
            store.responses[record.id] = record
            store.save_response(record, answer=dataclasses.asdict(model_answer))
        store.count_created(params.job_id)
    return record, Generation(store, record, model_answer, config.latency_ms / 1000)


def _history(store: Store, params: CreateParams) -> list[Item]:
    if params.conversation_id:
        conversation = store.conversations.get(params.conversation_id)
        if conversation is None:
            raise not_found("Conversation", params.conversation_id, "conversation")
        return list(conversation.items)
    if params.previous_response_id:
        if params.previous_response_id not in store.responses:
            raise ApiError(
                400,
                f"Previous response with id '{params.previous_response_id}' not found.",
                param="previous_response_id",
                code="previous_response_not_found",
            )
        return store.history_before(params.previous_response_id)
    return []


def _file_ids(items: list[Item]) -> set[str]:
    found = set()
    for item in items:
        content = item.get("content")
        for part in content if isinstance(content, list) else []:
            if isinstance(part, dict) and isinstance(part.get("file_id"), str):
                found.add(part["file_id"])
    return found
