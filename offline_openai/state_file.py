"""The offline upstream's state on disk: one SQLite file, written as each change is made.

The store keeps everything in memory for reads; each change is also written here, in its own
short transaction, so a restarted upstream knows every conversation, stored response, file and
creation count it knew before. Without a path the file is an in-memory database.
Every method is called under the store's lock: one connection, one writer at a time.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from offline_openai.items import Item

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY, created_at INTEGER NOT NULL, metadata TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS conversation_items (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, conversation_id TEXT NOT NULL,
    item_id TEXT, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS conversation_items_by_conversation
    ON conversation_items (conversation_id, seq);
CREATE TABLE IF NOT EXISTS files (id TEXT PRIMARY KEY, meta TEXT NOT NULL, content BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS created_by_job (job_id TEXT PRIMARY KEY, n INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, n INTEGER NOT NULL);
"""
_TABLES = (
    "responses",
    "conversations",
    "conversation_items",
    "files",
    "created_by_job",
    "counters",
)


@dataclass
class SavedConversation:
    id: str
    created_at: int
    metadata: dict[str, str]
    items: list[Item] = field(default_factory=list)


@dataclass
class SavedState:
    """Everything the file held when the upstream started."""

    responses: list[dict[str, Any]]
    conversations: list[SavedConversation]
    files: list[tuple[dict[str, Any], bytes]]
    responses_created: int
    responses_created_by_job: dict[str, int]


class StateFile:
    def __init__(self, path: str | None) -> None:
        self.path = path
        self._db = sqlite3.connect(path or ":memory:", check_same_thread=False)
        # WAL with synchronous=NORMAL: a commit is a write to the log, not a sync of the disk;
        # a killed process loses nothing committed (a power cut may lose the last few).
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _change(self) -> Iterator[sqlite3.Connection]:
        with self._db:  # one transaction: committed on success, rolled back on error
            yield self._db

    def load(self) -> SavedState:
        db = self._db
        conversations = {
            conv_id: SavedConversation(conv_id, created_at, json.loads(metadata))
            for conv_id, created_at, metadata in db.execute(
                "SELECT id, created_at, metadata FROM conversations ORDER BY rowid"
            )
        }
        for conv_id, body in db.execute(
            "SELECT conversation_id, body FROM conversation_items ORDER BY seq"
        ):
            if conv_id in conversations:
                conversations[conv_id].items.append(json.loads(body))
        total = db.execute("SELECT n FROM counters WHERE name = 'responses_created'").fetchone()
        return SavedState(
            responses=[
                json.loads(body)
                for (body,) in db.execute("SELECT body FROM responses ORDER BY rowid")
            ],
            conversations=list(conversations.values()),
            files=[
                (json.loads(meta), bytes(content))
                for meta, content in db.execute("SELECT meta, content FROM files ORDER BY rowid")
            ],
            responses_created=total[0] if total else 0,
            responses_created_by_job=dict(db.execute("SELECT job_id, n FROM created_by_job")),
        )

    def clear(self) -> None:
        with self._change() as db:
            for table in _TABLES:
                db.execute(f"DELETE FROM {table}")

    def count_created(self, job_id: str | None) -> None:
        with self._change() as db:
            db.execute(
                "INSERT INTO counters (name, n) VALUES ('responses_created', 1)"
                " ON CONFLICT (name) DO UPDATE SET n = n + 1"
            )
            if job_id is not None:
                db.execute(
                    "INSERT INTO created_by_job (job_id, n) VALUES (?, 1)"
                    " ON CONFLICT (job_id) DO UPDATE SET n = n + 1",
                    (job_id,),
                )

    def save_response(self, response_id: str, body: dict[str, Any]) -> None:
        with self._change() as db:
            db.execute(
                "INSERT INTO responses (id, body) VALUES (?, ?)"
                " ON CONFLICT (id) DO UPDATE SET body = excluded.body",
                (response_id, json.dumps(body)),
            )

    def delete_response(self, response_id: str) -> None:
        with self._change() as db:
            db.execute("DELETE FROM responses WHERE id = ?", (response_id,))

    def add_conversation(self, conversation: SavedConversation) -> None:
        with self._change() as db:
            db.execute(
                "INSERT INTO conversations (id, created_at, metadata) VALUES (?, ?, ?)",
                (conversation.id, conversation.created_at, json.dumps(conversation.metadata)),
            )
            _insert_items(db, conversation.id, conversation.items)

    def set_metadata(self, conversation_id: str, metadata: dict[str, str]) -> None:
        with self._change() as db:
            db.execute(
                "UPDATE conversations SET metadata = ? WHERE id = ?",
                (json.dumps(metadata), conversation_id),
            )

    def append_items(self, conversation_id: str, items: list[Item]) -> None:
        with self._change() as db:
            _insert_items(db, conversation_id, items)

    def delete_item(self, conversation_id: str, item_id: str) -> None:
        with self._change() as db:
            db.execute(
                "DELETE FROM conversation_items WHERE conversation_id = ? AND item_id = ?",
                (conversation_id, item_id),
            )

    def delete_conversation(self, conversation_id: str) -> None:
        with self._change() as db:
            db.execute(
                "DELETE FROM conversation_items WHERE conversation_id = ?", (conversation_id,)
            )
            db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))

    def add_file(self, meta: dict[str, Any], content: bytes) -> None:
        with self._change() as db:
            db.execute(
                "INSERT INTO files (id, meta, content) VALUES (?, ?, ?)",
                (meta["id"], json.dumps(meta), content),
            )

    def delete_file(self, file_id: str) -> None:
        with self._change() as db:
            db.execute("DELETE FROM files WHERE id = ?", (file_id,))


def _insert_items(db: sqlite3.Connection, conversation_id: str, items: list[Item]) -> None:
    db.executemany(
        "INSERT INTO conversation_items (conversation_id, item_id, body) VALUES (?, ?, ?)",
        [(conversation_id, item.get("id"), json.dumps(item)) for item in items],
    )
