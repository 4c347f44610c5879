"""How a conversation's context reaches the model, by UPSTREAM_HISTORY (DESIGN §8)."""

from __future__ import annotations

from typing import Any

from shared.job_lifecycle import Claim, set_conversation_upstream_id
from shared.local_history import local_history
from shared.openai_client import get_openai_client
from shared.settings import get_settings
from worker.capabilities import Capabilities


def history_mode(caps: Capabilities) -> str:
    mode = get_settings().UPSTREAM_HISTORY
    return caps.history_mode() if mode == "auto" else mode


def request_params(claim: Claim, params: dict[str, Any], caps: Capabilities) -> dict[str, Any]:
    """Add the conversation's context to one job's first request."""
    if claim.conversation_id is None:
        return params
    mode = history_mode(caps)
    if mode == "conversations":
        upstream_id = claim.conversation_upstream_id
        if upstream_id is None:
            created = get_openai_client().conversations.create(
                metadata={"gateway_conversation_id": claim.conversation_id}
            )
            upstream_id = set_conversation_upstream_id(claim.conversation_id, created.id)
        return {**params, "conversation": upstream_id}
    if mode == "previous_response":
        if claim.conversation_last_response_id:
            return {**params, "previous_response_id": claim.conversation_last_response_id}
        return params
    earlier = local_history(
        claim.conversation_id,
        claim.conversation_seq or 0,
        get_settings().UPSTREAM_HISTORY_MAX_ITEMS,
    )
    return {**params, "input": earlier + params["input"]}
