"""The baselines' bare Celery: the same Redis broker and core settings as the product's Celery
app, a no-op task (what bench/bare_submit_app.py enqueues), a task that pushes its finish
time to a Redis list (the queue's round-trip floor in bench/queue_overhead.py), and one that
first makes the one upstream call a chat job cannot skip, a response streamed through the SDK and
read to its end as the worker reads one (the worker's floor in bench/slow_upstream.py and
bench/queue_overhead.py; the client is the product's, built from OPENAI_BASE_URL and the other
settings in the environment), and one that makes the two calls a chat job that starts a
conversation cannot skip in the default history mode on an upstream that has conversations: the
upstream conversation, then the response streamed in it.

The worker runs `celery -A bench.bare_celery worker -Q bare` with REDIS_URL set."""

from __future__ import annotations

import os
import time

from celery import Celery
from openai import OpenAI
from redis import Redis

from shared.core.openai_client import get_openai_client, response_events

QUEUE = "bare"
FINISH_TASK = "bare.finish"
UPSTREAM_TASK = "bare.upstream_call"
CONVERSATION_TASK = "bare.conversation_call"
DONE_TTL_SECONDS = 600
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


def make_app(broker_url: str) -> Celery:
    app = Celery("bare", broker=broker_url)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        # As the product's app: a worker's threads share one result backend, not one each made
        # at a thread's first task (reading every installed package's metadata).
        result_backend_thread_safe=True,
        task_acks_late=True,
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        broker_pool_limit=50,
        task_default_queue=QUEUE,
    )
    return app


app = make_app(REDIS_URL)
_redis = Redis.from_url(REDIS_URL, max_connections=1000)


@app.task(name="bare.noop")
def noop(*_args: object) -> None:
    return None


@app.task(name=FINISH_TASK)
def finish(key: str) -> None:
    """Push when this ran (unix seconds) to `key`, where the sender waits with BLPOP."""
    pipe = _redis.pipeline(transaction=False)
    pipe.rpush(key, repr(time.time()))
    pipe.expire(key, DONE_TTL_SECONDS)
    pipe.execute()


def stream_one_response(
    client: OpenAI, model: str, message: str, conversation: str | None = None
) -> None:
    """One response streamed through the SDK and read to its end, as the product's worker reads
    one (its events as JSON, `shared.core.openai_client.response_events`), in `conversation` if
    given."""
    params = {"model": model, "input": message}
    if conversation is not None:
        params["conversation"] = conversation
    with response_events(client, params, background=False) as stream:
        for _event in stream:
            pass


@app.task(name=UPSTREAM_TASK)
def upstream_call(key: str, message: str, model: str) -> None:
    """`stream_one_response` with the product's client (its settings from the environment), then
    `finish`."""
    stream_one_response(get_openai_client(), model, message)
    finish(key)


def converse(client: OpenAI, model: str, message: str) -> str:
    """A new upstream conversation, then `stream_one_response` in it; answers the conversation's
    id."""
    conversation = client.conversations.create()
    stream_one_response(client, model, message, conversation.id)
    return conversation.id


@app.task(name=CONVERSATION_TASK)
def conversation_call(key: str, message: str, model: str) -> None:
    """`converse` with the product's client, then `finish`."""
    converse(get_openai_client(), model, message)
    finish(key)
