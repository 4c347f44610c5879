"""What one job asks the upstream: its first request (with the conversation's context, in the
UPSTREAM_HISTORY mode) and each continuation after tool outputs."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from openai.types.responses import Response as UpstreamResponse

from shared.accounts.safety_identifier import safety_identifier
from shared.conversations.local_history import local_history
from shared.conversations.rebuild import NothingToRebuild, recorded_turns, replace_upstream_id
from shared.core.models import Response
from shared.core.openai_client import get_openai_client
from shared.core.settings import get_settings
from shared.jobs.create_parameters import CREATE_PARAMETERS
from shared.jobs.lifecycle import Claim, job_responses
from shared.jobs.tool_catalog import function_tool
from worker.capabilities import Capabilities
from worker.persist import persist
from worker.upstream_files import with_upstream_file_ids

PASSED_THROUGH = ("instructions", "text", "reasoning", *CREATE_PARAMETERS)
CONTEXT_PARAMS = ("conversation", "previous_response_id")
# The Conversations API takes at most 20 items per call.
SEED_ITEMS_PER_CALL = 20

log = logging.getLogger(__name__)


class Turn:
    def __init__(self, claim: Claim, caps: Capabilities) -> None:
        self.claim = claim
        self.caps = caps
        tools = claim.request.get("tools") or []
        self.server_tools = {tool for tool in tools if isinstance(tool, str)}
        self._tools = [function_tool(t) if isinstance(t, str) else t for t in tools]
        self._base: dict[str, Any] | None = None
        self._first: dict[str, Any] | None = None
        # The upstream conversation this attempt made for ours, not stored yet: it goes with the
        # attempt's next write (`shared.jobs.lifecycle.adopt`).
        self.unsaved_conversation: str | None = None

    def is_server_tool(self, name: str) -> bool:
        return name in self.server_tools

    def history_mode(self) -> str:
        mode = get_settings().UPSTREAM_HISTORY
        return self.caps.history_mode() if mode == "auto" else mode

    def first_params(self) -> dict[str, Any]:
        if self._first is None:
            self._base = self._base_params()
            self._first = self._with_context(self._base)
        return self._first

    def continuation(self, outputs: list[Any]) -> dict[str, Any]:
        """The request that hands tool outputs back, chained as the upstream allows."""
        params = self.first_params()
        if "conversation" in params:
            return {**params, "input": outputs}
        earlier = job_responses(self.claim.job_id)
        if self.caps.previous_response and earlier:
            return {**params, "input": outputs, "previous_response_id": earlier[-1].id}
        return {**params, "input": _items(params["input"]) + _made(earlier) + outputs}

    def opening_params(self) -> dict[str, Any]:
        """The job's first request. An attempt that died before this one may have left this
        turn's input, and an answer, in the upstream conversation, so a job run again goes to a
        new one rebuilt from the gateway's record (a dead attempt changes nothing in a
        previous_response chain or in local history, nor in a conversation this attempt made)."""
        params = self.first_params()
        if (
            self.claim.attempt == 1
            or "conversation" not in params
            or self.unsaved_conversation is not None
        ):
            return params
        try:
            return self.rebuilt(params, "conversation", why="an earlier attempt died in it")
        except NothingToRebuild:
            return params

    def rebuilt(self, params: dict[str, Any], lost: str, why: str = "") -> dict[str, Any]:
        """`params` again, the context the upstream lost (its `conversation` or its
        `previous_response_id`) rebuilt from the gateway's record: the conversation's earlier
        turns and what this job has sent and received so far. Where the upstream has
        conversations, a new one seeded with them; elsewhere they go inline."""
        claim = self.claim
        first_params = self.first_params()
        assert self._base is not None
        first = params is first_params
        bare = {key: value for key, value in params.items() if key not in CONTEXT_PARAMS}
        context: list[Any] = []
        if claim.conversation_id is not None:
            context = recorded_turns(
                claim.conversation_id, claim.conversation_seq or 0, claim.job_id
            )
        if first:
            pending = _items(bare["input"])
        else:  # a continuation: tool outputs after this job's own earlier responses
            context += _items(self._base["input"]) + _made(job_responses(claim.job_id))
            pending = list(bare["input"])
        if lost == "conversation" and claim.conversation_id is not None:
            upstream_id = self._seed_conversation(params["conversation"], context)
            rebuilt = {**bare, "conversation": upstream_id, "input": pending}
            # Later continuations of this job go to the new conversation too.
            self._first = {**first_params, "conversation": upstream_id}
        else:
            rebuilt = {**bare, "input": context + pending}
        log.warning(
            "the %s of conversation %s rebuilt from %d recorded items: %s",
            lost,
            claim.conversation_id,
            len(context),
            why or "the upstream no longer has it",
        )
        if first:
            self._first = rebuilt
        return rebuilt

    def _seed_conversation(self, lost_id: str, items: list[Any]) -> str:
        """A new upstream conversation holding `items`, made our conversation's upstream one."""
        client = get_openai_client()
        conversation_id = self.claim.conversation_id
        assert conversation_id is not None
        created = client.conversations.create(
            items=items[:SEED_ITEMS_PER_CALL],
            metadata={"gateway_conversation_id": conversation_id},
        )
        for start in range(SEED_ITEMS_PER_CALL, len(items), SEED_ITEMS_PER_CALL):
            client.conversations.items.create(
                created.id, items=items[start : start + SEED_ITEMS_PER_CALL]
            )
        if lost_id == self.unsaved_conversation:  # never stored: the new one goes in its place
            self.unsaved_conversation = created.id
            return created.id
        return persist(partial(replace_upstream_id, conversation_id, lost_id, created.id))

    def _base_params(self) -> dict[str, Any]:
        request = self.claim.request
        settings = get_settings()
        params: dict[str, Any] = {
            "model": request.get("model") or settings.OPENAI_MODEL,
            "metadata": {**(request.get("metadata") or {}), "job_id": self.claim.job_id},
            "store": True,
            # No upstream may run a job to its timeout by writing forever.
            "max_output_tokens": settings.MAX_OUTPUT_TOKENS,
        }
        if self.caps.sends_safety_identifier():
            params["safety_identifier"] = safety_identifier(self.claim.user_id)
        if self.claim.kind == "chat":
            params["input"] = [{"role": "user", "content": request["message"]}]
        else:
            given = request["input"]
            params["input"] = given if isinstance(given, str) else with_upstream_file_ids(given)
        if self._tools:
            params["tools"] = self._tools
        for name in PASSED_THROUGH:
            if request.get(name) is not None:
                params[name] = request[name]
        return params

    def _with_context(self, params: dict[str, Any]) -> dict[str, Any]:
        claim = self.claim
        if claim.conversation_id is None:
            return params
        mode = self.history_mode()
        if mode == "conversations":
            upstream_id = claim.conversation_upstream_id
            if upstream_id is None:
                created = get_openai_client().conversations.create(
                    metadata={"gateway_conversation_id": claim.conversation_id}
                )
                upstream_id = self.unsaved_conversation = created.id
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
        return {**params, "input": earlier + _items(params["input"])}


def _items(given: str | list[Any]) -> list[Any]:
    """A request's `input` as a list of items."""
    return [{"role": "user", "content": given}] if isinstance(given, str) else list(given)


def _made(rows: list[Response]) -> list[Any]:
    """What a job's stored responses were given (tool outputs) and answered, in order."""
    items: list[Any] = []
    for row in rows:
        items += (row.input_items or []) + row.output
    return items


def retrieve(response_id: str) -> UpstreamResponse:
    return get_openai_client().responses.retrieve(response_id)
