"""The OpenAI clients of a process: a thread keeps one, which at most THREADS_PER_CLIENT live
threads share (the SDK's connection pool gets slower with every connection it holds)."""

from __future__ import annotations

import math
import threading
from collections import Counter

from openai import OpenAI

from shared.core.openai_client import THREADS_PER_CLIENT, get_openai_client


def test_live_threads_share_a_client_up_to_the_limit() -> None:
    seen: list[OpenAI] = []
    changed: list[threading.Thread] = []
    asked = threading.Semaphore(0)
    release = threading.Event()

    def ask_and_stay() -> None:
        client = get_openai_client()
        if get_openai_client() is not client:
            changed.append(threading.current_thread())
        seen.append(client)
        asked.release()
        release.wait(30)

    threads = [
        threading.Thread(target=ask_and_stay, daemon=True)
        for _ in range(2 * THREADS_PER_CLIENT + 1)
    ]
    try:
        for thread in threads:
            thread.start()
            assert asked.acquire(timeout=10)
    finally:
        release.set()
    for thread in threads:
        thread.join()
    assert not changed
    sharing = Counter(seen)
    assert max(sharing.values()) <= THREADS_PER_CLIENT
    assert len(sharing) == math.ceil(len(threads) / THREADS_PER_CLIENT)


def test_threads_that_ended_give_their_place_back() -> None:
    ended: list[threading.Thread] = []  # kept, as a thread pool keeps its threads
    seen: set[OpenAI] = set()
    for _ in range(3 * THREADS_PER_CLIENT):
        thread = threading.Thread(target=lambda: seen.add(get_openai_client()))
        thread.start()
        thread.join()
        ended.append(thread)
    assert len(seen) == 1
