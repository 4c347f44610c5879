"""Uploaded files: what types are accepted (by their bytes, not their name), kept in the database
until a job sends them to the upstream Files API."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import delete, select, update

from shared.accounts.tokens import ensure_user
from shared.core import task_names
from shared.core.celery_app import celery_app
from shared.core.db import read_session, write_session
from shared.core.errors import InvalidInput, TooLarge, UnsupportedMediaType, not_found
from shared.core.ids import new_id
from shared.core.models import File
from shared.core.settings import get_settings
from shared.views import MediaType, deleted_body, file_body

ACCEPTED = "PDF, PNG, JPEG, WebP, GIF or UTF-8 plain text"


def sniff_media_type(content: bytes) -> MediaType | None:
    """The media type the bytes are, among the accepted ones."""
    if content.startswith(b"%PDF-"):
        return "application/pdf"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    if content.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return "text/plain" if "\x00" not in text else None


def create_file(user_id: str, filename: str, content: bytes) -> dict[str, Any]:
    if len(content) > get_settings().MAX_UPLOAD_BYTES:
        raise TooLarge("file_too_large", "The file is larger than MAX_UPLOAD_BYTES.", "file")
    if not content:
        raise InvalidInput("empty_file", "The file is empty.", "file")
    media_type = sniff_media_type(content)
    if media_type is None:
        raise UnsupportedMediaType("unsupported_file_type", f"Upload a {ACCEPTED} file.", "file")
    file = File(
        id=new_id("file"),
        user_id=user_id,
        filename=filename[:255] or "upload",
        media_type=media_type,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
    )
    with write_session() as session:
        ensure_user(session, user_id)
        session.add(file)
    return file_body(file)


def _owned(session: Any, user_id: str, file_id: str) -> File:
    file = session.get(File, file_id)
    if file is None or file.user_id != user_id:
        raise not_found("file")
    return file  # type: ignore[no-any-return]


def get_file(user_id: str, file_id: str) -> dict[str, Any]:
    with read_session() as session:
        return file_body(_owned(session, user_id, file_id))


def delete_file(user_id: str, file_id: str) -> dict[str, Any]:
    """Delete the file here and, through a task, its upstream copy."""
    with write_session() as session:
        # One statement: the upstream id a concurrent first upload stores is seen or not at all.
        deleted = session.execute(
            delete(File)
            .where(File.id == file_id, File.user_id == user_id)
            .returning(File.upstream_id)
        ).first()
    if deleted is None:
        raise not_found("file")
    upstream_id = deleted.upstream_id
    if upstream_id:
        celery_app.send_task(task_names.DELETE_UPSTREAM_FILE, args=[upstream_id])
    return deleted_body(file_id, "file")


def file_for_upload(file_id: str) -> tuple[File, bytes] | None:
    """The file and its bytes; None once it is deleted."""
    with read_session() as session:
        file = session.get(File, file_id)
        return (file, file.content) if file is not None else None


def set_upstream_id(file_id: str, upstream_id: str) -> str | None:
    """Keep the first upstream copy of the file; answer the upstream id that is kept (None: the
    file was deleted meanwhile)."""
    with write_session() as session:
        session.execute(
            update(File)
            .where(File.id == file_id, File.upstream_id.is_(None))
            .values(upstream_id=upstream_id)
        )
        return session.scalar(select(File.upstream_id).where(File.id == file_id))


def list_owned_ids(user_id: str, file_ids: list[str]) -> set[str]:
    with read_session() as session:
        return set(
            session.scalars(select(File.id).where(File.user_id == user_id, File.id.in_(file_ids)))
        )
