"""What the upstream can do, found by trying it once per worker process and kept in Redis.

OpenAI serves Conversations, retrieve and real background mode; a LiteLLM proxy, vLLM or Ollama
often serve only `POST /v1/responses`, and some refuse a `safety_identifier`. The probe costs
one or two tiny generations.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import threading
from dataclasses import asdict, dataclass
from typing import Any

import openai

from shared.core.openai_client import get_openai_client
from shared.core.redis_client import get_redis
from shared.core.settings import get_settings

log = logging.getLogger(__name__)

CACHE_SECONDS = 3600
PROBE_METADATA = {"gateway_probe": "true"}
# The probe's replies are never read: the smallest bound OpenAI takes keeps them cheap.
PROBE_MAX_OUTPUT_TOKENS = 16
PROBE_SAFETY_IDENTIFIER = "gateway-capability-probe"


@dataclass(frozen=True)
class Capabilities:
    conversations: bool
    previous_response: bool
    background: bool
    retrieve: bool
    safety_identifier: bool = True

    def sends_safety_identifier(self) -> bool:
        mode = get_settings().SAFETY_IDENTIFIER
        return mode == "on" or (mode == "auto" and self.safety_identifier)

    def history_mode(self) -> str:
        """The mode `auto` picks: the first of conversations, previous_response, local."""
        if self.conversations:
            return "conversations"
        if self.previous_response:
            return "previous_response"
        return "local"


_lock = threading.Lock()
_known: Capabilities | None = None


def capabilities() -> Capabilities:
    global _known
    with _lock:
        if _known is None:
            _known = _cached() or _probe_and_cache()
        return _known


def forget() -> None:
    global _known
    with _lock:
        _known = None


def _cache_key() -> str:
    settings = get_settings()
    # SAFETY_IDENTIFIER=off skips that part of the probe: its findings are kept apart.
    where = f"{settings.OPENAI_BASE_URL}|{settings.OPENAI_MODEL}|{settings.SAFETY_IDENTIFIER}"
    return "gw:upstream:capabilities:" + hashlib.sha256(where.encode()).hexdigest()[:16]


def _cached() -> Capabilities | None:
    try:
        raw = get_redis().get(_cache_key())
    except Exception:
        return None
    return Capabilities(**json.loads(raw)) if raw else None


def _probe_and_cache() -> Capabilities:
    found = probe()
    log.info("upstream capabilities: %s", found)
    try:
        get_redis().set(_cache_key(), json.dumps(asdict(found)), ex=CACHE_SECONDS)
    except Exception:
        log.warning("could not cache the upstream capabilities")
    return found


def probe() -> Capabilities:
    client = get_openai_client().with_options(max_retries=1)
    model = get_settings().OPENAI_MODEL
    conversations = _conversations_work(client)
    first, safety_identifier = _first_response(client, model)
    background = first.status in ("queued", "in_progress")
    try:
        client.responses.retrieve(first.id)
        retrieve = True
    except (openai.APIStatusError, openai.APIConnectionError):
        retrieve = False
    previous_response = True
    if not conversations:
        previous_response = _chaining_carries_context(client, model, first)
    return Capabilities(
        conversations, previous_response, background and retrieve, retrieve, safety_identifier
    )


def _first_response(client: openai.OpenAI, model: str) -> tuple[Any, bool]:
    """A background response, and whether the upstream took a `safety_identifier` with it (one
    that refuses unknown parameters answers 4xx naming it)."""

    def create(safety_identifier: str | openai.Omit) -> Any:
        return client.responses.create(
            model=model,
            input="ping",
            background=True,
            store=True,
            metadata=PROBE_METADATA,
            max_output_tokens=PROBE_MAX_OUTPUT_TOKENS,
            safety_identifier=safety_identifier,
        )

    if get_settings().SAFETY_IDENTIFIER == "off":
        return create(openai.omit), False
    try:
        return create(PROBE_SAFETY_IDENTIFIER), True
    except openai.APIStatusError as exc:
        if exc.status_code >= 500 or "safety_identifier" not in str(exc.body or exc.message):
            raise
        return create(openai.omit), False


def _chaining_carries_context(client: openai.OpenAI, model: str, first: Any) -> bool:
    """Whether `previous_response_id` really brings the earlier turn along.

    Some upstreams accept it and drop it (a LiteLLM proxy without its database does), so an
    accepted call proves nothing: the chained call must also count more input tokens than the
    same input sent alone.
    """
    try:
        alone = client.responses.create(
            model=model,
            input="ping",
            metadata=PROBE_METADATA,
            max_output_tokens=PROBE_MAX_OUTPUT_TOKENS,
        )
        chained = client.responses.create(
            model=model,
            input="ping",
            previous_response_id=first.id,
            metadata=PROBE_METADATA,
            max_output_tokens=PROBE_MAX_OUTPUT_TOKENS,
        )
    except openai.APIStatusError:
        return False
    if alone.usage is None or chained.usage is None:
        return False
    return chained.usage.input_tokens > alone.usage.input_tokens


def _conversations_work(client: openai.OpenAI) -> bool:
    try:
        made = client.conversations.create(metadata=PROBE_METADATA)
    except openai.APIStatusError:
        return False
    with contextlib.suppress(openai.APIStatusError):
        client.conversations.delete(made.id)
    return True
