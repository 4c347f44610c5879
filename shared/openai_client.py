"""The OpenAI SDK client of each thread, built from settings, and the streams of a response's
events read through it."""

from __future__ import annotations

import ssl
import threading
from functools import lru_cache
from typing import Any
from urllib.parse import quote

import httpx2
from openai import DefaultHttpxClient, OpenAI, Stream

from shared.settings import get_settings

_thread = threading.local()


def get_openai_client() -> OpenAI:
    """This thread's client. Each thread has its own connection pool: httpx's pool walks every
    connection it holds, under one lock, on each request, and a worker of hundreds of threads
    spent more CPU a call on one shared pool than on a pool a thread (tuning record)."""
    client: OpenAI | None = getattr(_thread, "client", None)
    if client is None:
        client = _thread.client = _new_client()
    return client


def _new_client() -> OpenAI:
    settings = get_settings()
    return OpenAI(
        api_key=settings.OPENAI_API_KEY or "offline",
        base_url=settings.OPENAI_BASE_URL or None,
        timeout=settings.OPENAI_TIMEOUT_SECONDS,
        max_retries=settings.OPENAI_MAX_RETRIES,
        http_client=DefaultHttpxClient(verify=_tls_context()),
    )


@lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    """httpx's default TLS context, made once: making one (loading the CA bundle) costs 20 ms of
    CPU and 800 KB, too much for each thread."""
    return httpx2.create_ssl_context()


# A streamed response's events are read as the JSON they are, through the SDK's client and Stream
# (its auth, retries, timeouts and errors). The SDK's typed stream validates every event against
# the union of all the event types: 3.6 of the 6.2 ms of CPU an offline call took, timed alone,
# and a model streams an event per token. The reader builds the typed Response from the events
# that carry it. The body goes as given: no field of the SDK's response params has an alias or a
# format to apply.
def response_events(client: OpenAI, params: dict[str, Any], background: bool) -> Stream[object]:
    return client.post(
        "/responses",
        body={**params, "stream": True, "background": background},
        cast_to=object,
        stream=True,
        stream_cls=Stream[object],
    )


def resumed_events(client: OpenAI, response_id: str, after: int) -> Stream[object]:
    return client.get(
        f"/responses/{quote(response_id, safe='')}",
        options={"params": {"stream": True, "starting_after": after}},
        cast_to=object,
        stream=True,
        stream_cls=Stream[object],
    )
