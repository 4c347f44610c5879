"""How a conversation's context reaches the model (DESIGN §8, UPSTREAM_HISTORY)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.job_lifecycle import Claim, set_conversation_upstream_id
from shared.openai_client import get_openai_client
from shared.settings import get_settings


@dataclass(frozen=True)
class Capabilities:
    conversations: bool = True
    background: bool = True
    retrieve: bool = True


def capabilities() -> Capabilities:
    return Capabilities()


def request_params(claim: Claim, params: dict[str, Any], caps: Capabilities) -> dict[str, Any]:
    """Add the conversation's context to one job's request, in the configured history mode."""
    if claim.conversation_id is None:
        return params
    mode = get_settings().UPSTREAM_HISTORY
    if mode in ("conversations", "auto") and caps.conversations:
        upstream_id = claim.conversation_upstream_id
        if upstream_id is None:
            created = get_openai_client().conversations.create(
                metadata={"gateway_conversation_id": claim.conversation_id}
            )
            upstream_id = set_conversation_upstream_id(claim.conversation_id, created.id)
        return {**params, "conversation": upstream_id}
    if claim.conversation_last_response_id:
        return {**params, "previous_response_id": claim.conversation_last_response_id}
    return params
