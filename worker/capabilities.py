"""What the upstream can do, found by trying it once per worker process and kept in Redis.

OpenAI serves Conversations, retrieve and real background mode; a LiteLLM proxy, vLLM or Ollama
often serve only `POST /v1/responses`. The probe costs one or two tiny generations.
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


@dataclass(frozen=True)
class Capabilities:
    conversations: bool
    previous_response: bool
    background: bool
    retrieve: bool

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
    where = f"{settings.OPENAI_BASE_URL}|{settings.OPENAI_MODEL}"
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
    first = client.responses.create(
        model=model, input="ping", background=True, store=True, metadata=PROBE_METADATA
    )
    background = first.status in ("queued", "in_progress")
    try:
        client.responses.retrieve(first.id)
        retrieve = True
    except (openai.APIStatusError, openai.APIConnectionError):
        retrieve = False
    previous_response = True
    if not conversations:
        previous_response = _chaining_carries_context(client, model, first)
    return Capabilities(conversations, previous_response, background and retrieve, retrieve)


def _chaining_carries_context(client: openai.OpenAI, model: str, first: Any) -> bool:
    """Whether `previous_response_id` really brings the earlier turn along.

    Some upstreams accept it and drop it (a LiteLLM proxy without its database does), so an
    accepted call proves nothing: the chained call must also count more input tokens than the
    same input sent alone.
    """
    try:
        alone = client.responses.create(model=model, input="ping", metadata=PROBE_METADATA)
        chained = client.responses.create(
            model=model, input="ping", previous_response_id=first.id, metadata=PROBE_METADATA
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
