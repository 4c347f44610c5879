"""The OpenAI clients of a process: a thread keeps one, which at most THREADS_PER_CLIENT live
threads share (httpx's pool gets slower with every connection it holds)."""

from __future__ import annotations

import threading
from collections import Counter

from openai import OpenAI

from shared.openai_client import THREADS_PER_CLIENT, get_openai_client


def test_live_threads_share_a_client_up_to_the_limit() -> None:
    seen: list[OpenAI] = []
    asked = threading.Semaphore(0)
    release = threading.Event()

    def ask_and_stay() -> None:
        client = get_openai_client()
        assert get_openai_client() is client
        seen.append(client)
        asked.release()
        release.wait()

    threads = [threading.Thread(target=ask_and_stay) for _ in range(2 * THREADS_PER_CLIENT + 1)]
    for thread in threads:
        thread.start()
        assert asked.acquire(timeout=10)
    release.set()
    for thread in threads:
        thread.join()
    sharing = Counter(id(client) for client in seen)
    assert len(seen) == len(threads)
    assert max(sharing.values()) <= THREADS_PER_CLIENT


def test_threads_that_ended_give_their_place_back() -> None:
    seen: set[int] = set()
    for _ in range(3 * THREADS_PER_CLIENT):
        thread = threading.Thread(target=lambda: seen.add(id(get_openai_client())))
        thread.start()
        thread.join()
    assert len(seen) == 1
