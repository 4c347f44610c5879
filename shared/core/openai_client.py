"""The OpenAI SDK clients of a process, built from settings, and the streams of a response's
events read through them."""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import quote

from openai import OpenAI, Stream

from shared.core.settings import get_settings

# The SDK's httpx2 connection pool walks every connection it holds, under one lock, on each
# request: from 512 threads through one pool a streamed call cost 2.9-3.0 ms of CPU, and 2.0-2.2
# ms with a pool for every 64 threads; from 64 threads one pool costs no more (tuning record).
THREADS_PER_CLIENT = 64

_this_thread = threading.local()
# Each client and the threads given it; the dead are dropped when a new thread is placed.
_clients: list[tuple[OpenAI, list[threading.Thread]]] = []
_clients_lock = threading.Lock()


def get_openai_client() -> OpenAI:
    """This thread's client, shared with at most THREADS_PER_CLIENT - 1 other live threads."""
    client: OpenAI | None = getattr(_this_thread, "client", None)
    if client is None:
        client = _this_thread.client = _client_with_room(threading.current_thread())
    return client


def _client_with_room(thread: threading.Thread) -> OpenAI:
    with _clients_lock:
        for client, users in _clients:
            users[:] = [user for user in users if user.is_alive()]
            if len(users) < THREADS_PER_CLIENT:
                users.append(thread)
                return client
        settings = get_settings()
        client = OpenAI(
            api_key=settings.OPENAI_API_KEY or "offline",
            base_url=settings.OPENAI_BASE_URL or None,
            timeout=settings.OPENAI_TIMEOUT_SECONDS,
            max_retries=settings.OPENAI_MAX_RETRIES,
        )
        _clients.append((client, [thread]))
        return client


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
