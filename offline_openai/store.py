"""All state of the offline upstream, in memory behind one lock, and written to its state file."""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

from flask import current_app

from offline_openai.config import FAULT_KINDS, OfflineConfig
from offline_openai.items import Item
from offline_openai.records import ConversationRecord, FileRecord, ResponseRecord
from offline_openai.state_file import SavedConversation, StateFile

REQUEST_LOG_SIZE = 10_000


class Store:
    """Responses, conversations, files, counters and the live config."""

    def __init__(self, startup_config: OfflineConfig, state_path: str | None = None) -> None:
        self.lock = threading.RLock()
        self.startup_config = startup_config
        self.state = StateFile(state_path)
        self._clear()
        # Responses that were still generating when the last process stopped, with the answer
        # each was playing out: the app starts them again (see generation.resume_unfinished).
        self.unfinished: list[tuple[ResponseRecord, dict[str, Any]]] = []
        self._load()

    def _clear(self) -> None:
        self.config = self.startup_config
        self.responses: dict[str, ResponseRecord] = {}
        self.conversations: dict[str, ConversationRecord] = {}
        self.files: dict[str, FileRecord] = {}
        self.responses_created = 0
        self.responses_created_by_job: dict[str, int] = {}
        self.requests: deque[dict[str, Any]] = deque(maxlen=REQUEST_LOG_SIZE)
        self.faults_injected = dict.fromkeys(FAULT_KINDS, 0)

    def reset(self) -> None:
        with self.lock:
            for record in self.responses.values():
                if not record.finished:
                    # Running generations notice `finished` and stop without touching new state.
                    record.finished = True
                    record.changed.notify_all()
            self._clear()
            self.state.clear()

    def _load(self) -> None:
        saved = self.state.load()
        for data in saved.responses:
            record = ResponseRecord.from_saved(data, self.new_condition())
            self.responses[record.id] = record
            if not record.finished:
                self.unfinished.append((record, data.get("answer") or {}))
        for conversation in saved.conversations:
            self.conversations[conversation.id] = ConversationRecord(
                conversation.id, conversation.created_at, conversation.metadata, conversation.items
            )
        self.files = {meta["id"]: FileRecord(meta, content) for meta, content in saved.files}
        self.responses_created = saved.responses_created
        self.responses_created_by_job = saved.responses_created_by_job

    def new_condition(self) -> threading.Condition:
        return threading.Condition(self.lock)

    def log_request(self, entry: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.requests.append(entry)
        return entry

    def count_created(self, job_id: str | None) -> None:
        with self.lock:
            self.responses_created += 1
            if job_id is not None:
                self.responses_created_by_job[job_id] = (
                    self.responses_created_by_job.get(job_id, 0) + 1
                )
            self.state.count_created(job_id)

    def count_fault(self, kind: str) -> None:
        with self.lock:
            self.faults_injected[kind] += 1

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {
                "responses_created": self.responses_created,
                "responses_created_by_job": dict(self.responses_created_by_job),
                "faults_injected": dict(self.faults_injected),
                "requests": [dict(entry) for entry in self.requests],
            }

    def find_item(self, item_id: str) -> Item | None:
        """An item by id from any conversation or stored response (for item_reference)."""
        with self.lock:
            for conversation in self.conversations.values():
                for item in conversation.items:
                    if item.get("id") == item_id:
                        return item
            for record in self.responses.values():
                for item in (*record.input_items, *record.output):
                    if item.get("id") == item_id:
                        return item
        return None

    def history_before(self, previous_response_id: str) -> list[Item]:
        """Inputs and outputs of a chain of responses, oldest first (caller holds the lock)."""
        chain: list[ResponseRecord] = []
        record = self.responses.get(previous_response_id)
        while record is not None and record not in chain:
            chain.append(record)
            record = self.responses.get(record.previous_response_id or "")
        history: list[Item] = []
        for record in reversed(chain):
            history += [*record.input_items, *record.output]
        return history

    def file_names(self, file_ids: set[str]) -> dict[str, str]:
        with self.lock:
            return {
                file_id: str(self.files[file_id].meta["filename"])
                for file_id in file_ids
                if file_id in self.files
            }

    def record_finished(self, record: ResponseRecord) -> None:
        """Append a finished response's turn to its conversation (caller holds the lock)."""
        if record.status not in ("completed", "incomplete") or not record.conversation_id:
            return
        conversation = self.conversations.get(record.conversation_id)
        if conversation is not None:
            self.append_items(conversation, [*record.input_items, *record.output])

    def save_response(self, record: ResponseRecord, answer: dict[str, Any] | None = None) -> None:
        """Write a stored response as it now is (with the answer it plays, while it runs)."""
        with self.lock:
            if self.responses.get(record.id) is not record:
                return  # created with store=false, or deleted since
            saved = record.saved()
            if answer is not None:
                saved["answer"] = answer
            self.state.save_response(record.id, saved)

    def delete_response(self, response_id: str) -> None:
        with self.lock:
            del self.responses[response_id]
            self.state.delete_response(response_id)

    def add_conversation(self, conversation: ConversationRecord) -> None:
        with self.lock:
            self.conversations[conversation.id] = conversation
            self.state.add_conversation(
                SavedConversation(
                    conversation.id,
                    conversation.created_at,
                    conversation.metadata,
                    conversation.items,
                )
            )

    def set_metadata(self, conversation: ConversationRecord, metadata: dict[str, str]) -> None:
        with self.lock:
            conversation.metadata = metadata
            self.state.set_metadata(conversation.id, metadata)

    def append_items(self, conversation: ConversationRecord, items: list[Item]) -> None:
        with self.lock:
            conversation.items += items
            self.state.append_items(conversation.id, items)

    def delete_item(self, conversation: ConversationRecord, item_id: str) -> bool:
        with self.lock:
            kept = [item for item in conversation.items if item.get("id") != item_id]
            if len(kept) == len(conversation.items):
                return False
            conversation.items = kept
            self.state.delete_item(conversation.id, item_id)
            return True

    def delete_conversation(self, conversation_id: str) -> None:
        with self.lock:
            del self.conversations[conversation_id]
            self.state.delete_conversation(conversation_id)

    def add_file(self, record: FileRecord) -> None:
        with self.lock:
            self.files[record.meta["id"]] = record
            self.state.add_file(record.meta, record.content)

    def delete_file(self, file_id: str) -> None:
        with self.lock:
            del self.files[file_id]
            self.state.delete_file(file_id)


def current_store() -> Store:
    store: Store = current_app.extensions["offline_openai"]
    return store


def now() -> int:
    return int(time.time())
