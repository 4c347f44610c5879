"""Each thread's OpenAI client: its own connection pool, the process's one TLS context."""

from __future__ import annotations

import threading

from openai import OpenAI

from shared.openai_client import get_openai_client


def clients_of_threads(count: int) -> list[OpenAI]:
    seen: list[OpenAI] = []
    threads = [
        threading.Thread(target=lambda: seen.extend([get_openai_client(), get_openai_client()]))
        for _ in range(count)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return seen


def test_a_thread_keeps_its_client_and_no_other_thread_shares_its_pool() -> None:
    seen = clients_of_threads(4)
    pairs = list(zip(seen[::2], seen[1::2], strict=True))
    assert all(first is second for first, second in pairs)
    assert len({id(client._client) for client, _ in pairs}) == 4


def test_the_threads_clients_share_one_tls_context() -> None:
    contexts = {
        id(client._client._transport._pool._ssl_context) for client in clients_of_threads(3)
    }
    assert len(contexts) == 1
