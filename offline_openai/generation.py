"""Drives one response from created to terminal: latency, events, usage, conversation append."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

from offline_openai.events import Event, item_events, sse_frame
from offline_openai.items import count_words
from offline_openai.model import ModelAnswer
from offline_openai.records import ResponseRecord
from offline_openai.store import Store

_LIFECYCLE = ("response.created", "response.in_progress")
_DELTAS = ("response.output_text.delta", "response.function_call_arguments.delta")


class Generation:
    """Plays a finished ModelAnswer out as events; stops quietly once the record is finished."""

    def __init__(
        self, store: Store, record: ResponseRecord, answer: ModelAnswer, latency_s: float
    ) -> None:
        self.store = store
        self.record = record
        self.answer = answer
        self.latency_s = latency_s
        self.sequence = 0

    def run(self) -> Iterator[Event]:
        record = self.record
        for kind in _LIFECYCLE:
            with record.changed:
                if kind == "response.in_progress" and record.status == "queued":
                    record.status = "in_progress"
                event = self._emit({"type": kind})
            if event is None:
                return
            yield event
        if not self._wait_latency():
            return
        for index, item in enumerate(self.answer.items):
            for raw in item_events(item, index):
                event = self._emit(raw)
                if event is None:
                    return
                yield event
        final = self._finish()
        if final is not None:
            yield final

    def drain(self) -> None:
        for _ in self.run():
            pass

    def start_in_background(self) -> None:
        name = f"offline-openai-{self.record.id[:16]}"
        threading.Thread(target=self.drain, name=name, daemon=True).start()

    def _emit(self, raw: Event) -> Event | None:
        record = self.record
        with record.changed:
            if record.finished:
                return None
            event: Event = {"type": raw["type"], "sequence_number": self.sequence}
            if raw["type"] in _LIFECYCLE:
                event["response"] = record.body()
            event.update((key, value) for key, value in raw.items() if key != "type")
            self.sequence += 1
            if raw["type"] in _DELTAS:
                record.partial_output_tokens += count_words(raw["delta"])
            elif raw["type"] == "response.output_item.done":
                record.output.append(raw["item"])
            if record.background:
                record.events.append(event)
                record.changed.notify_all()
            return event

    def _wait_latency(self) -> bool:
        record = self.record
        deadline = time.monotonic() + self.latency_s
        with record.changed:
            while not record.finished:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return True
                record.changed.wait(remaining)
        return False

    def _finish(self) -> Event | None:
        record, answer = self.record, self.answer
        with record.changed:
            if record.finished:
                return None
            record.error = answer.error
            record.incomplete_reason = answer.incomplete_reason
            record.finish(answer.status, answer.output_tokens)
            self.store.record_finished(record)
            event: Event = {
                "type": f"response.{answer.status}",
                "sequence_number": self.sequence,
                "response": record.body(),
            }
            self.sequence += 1
            if record.background:  # saved with it: a stream resumed after a restart ends too
                record.events.append(event)
            self.store.save_response(record)
            return event


def stream_live(generation: Generation) -> Iterator[bytes]:
    """SSE for a response generated in this request; finishes it even if the client leaves."""
    events = generation.run()
    try:
        for event in events:
            yield sse_frame(event)
    finally:
        for _ in events:
            pass


def stream_stored(record: ResponseRecord, starting_after: int) -> Iterator[bytes]:
    """SSE replay of a background response's events after `starting_after`, then live ones."""
    index = max(0, starting_after + 1)
    while True:
        with record.changed:
            while index >= len(record.events) and not record.finished:
                record.changed.wait(1.0)
            batch = record.events[index:]
            index += len(batch)
            done = record.finished and index >= len(record.events)
        for event in batch:
            yield sse_frame(event)
        if done:
            return


def resume_unfinished(store: Store) -> None:
    """Carry on the responses a stopped process left generating, as the real service does.

    A background response plays its answer again from the first event (the same answer, so the
    same events: a client resuming after event N gets the rest); a response streamed to a client
    that is gone has no one to finish for, and fails.
    """
    with store.lock:
        unfinished, store.unfinished = store.unfinished, []
        for record, answer in unfinished:
            if record.background and answer:
                record.status, record.output, record.events = "queued", [], []
                record.partial_output_tokens = 0
                latency_s = store.config.latency_ms / 1000
                Generation(store, record, ModelAnswer(**answer), latency_s).start_in_background()
            else:
                record.error = {
                    "code": "server_error",
                    "message": "The response was interrupted by a restart of the service.",
                }
                record.finish("failed", record.partial_output_tokens)
                if record.background:  # a client following its stream learns it ended
                    record.events.append(
                        {
                            "type": "response.failed",
                            "sequence_number": len(record.events),
                            "response": record.body(),
                        }
                    )
                store.save_response(record)
