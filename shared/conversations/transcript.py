"""A conversation's transcript, both sides: what each job sent (its stored request) and what came
back (its stored responses: tool calls, tool outputs, replies), turn by turn, oldest first.

Items are numbered within their job, `<job_id>:<n>`, and pages follow the conversation's turns:
a job's items never move once the job has ended.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.conversations.local_history import user_items
from shared.conversations.service import owned_conversation
from shared.core.clock import unix
from shared.core.db import read_session
from shared.core.errors import InvalidInput
from shared.core.models import File, Job, Response
from shared.core.pagination import ListBody, list_body

DATA_URL_PREFIX = "data:"


class TranscriptItem(BaseModel):
    """A Responses item of the conversation (its other fields as the upstream gave them), with
    who said it and which job and response it belongs to."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(description="<job_id>:<n>, a cursor for after=")
    type: str = Field(examples=["message", "function_call"])
    role: Literal["user", "assistant", "tool"]
    job_id: str
    response_id: str | None
    created_at: int


class TranscriptList(ListBody):
    data: list[TranscriptItem]


@dataclass(frozen=True)
class Cursor:
    job_id: str
    index: int
    conversation_seq: int


def list_messages(
    user_id: str, conversation_id: str, limit: int, after: str | None
) -> dict[str, Any]:
    with read_session() as session:
        owned_conversation(session, user_id, conversation_id)
        query = select(Job).where(Job.conversation_id == conversation_id)
        cursor = _cursor(session, conversation_id, after) if after else None
        if cursor is not None:
            query = query.where(Job.conversation_seq >= cursor.conversation_seq)
        # Every job gives at least its user turn: the anchor and limit + 1 more fill a page and
        # tell whether another follows.
        jobs = list(session.scalars(query.order_by(Job.conversation_seq).limit(limit + 2)))
        responses = _responses_by_job(session, [job.id for job in jobs])
        names = _file_names(session, user_id, jobs)
    items: list[dict[str, Any]] = []
    for job in jobs:
        for index, item in enumerate(_job_items(job, responses.get(job.id, []), names)):
            if cursor is not None and job.id == cursor.job_id and index <= cursor.index:
                continue
            items.append(
                TranscriptItem.model_validate({**item, "id": f"{job.id}:{index}"}).model_dump()
            )
    return list_body(items[:limit], len(items) > limit)


def _cursor(session: Session, conversation_id: str, after: str) -> Cursor:
    job_id, _, index = after.rpartition(":")
    job = session.get(Job, job_id) if job_id and index.isdigit() else None
    if job is None or job.conversation_id != conversation_id:
        raise InvalidInput(
            "invalid_cursor", "after must be a message id from this transcript.", "after"
        )
    return Cursor(job_id, int(index), job.conversation_seq or 0)


def _responses_by_job(session: Session, job_ids: list[str]) -> dict[str, list[Response]]:
    by_job: dict[str, list[Response]] = {}
    for row in session.scalars(
        select(Response).where(Response.job_id.in_(job_ids)).order_by(Response.created_at)
    ):
        by_job.setdefault(str(row.job_id), []).append(row)
    return by_job


def _file_names(session: Session, user_id: str, jobs: Iterable[Job]) -> dict[str, str]:
    file_ids = {
        part["file_id"]
        for job in jobs
        for message in user_items(job.kind, job.request)
        for part in _parts(message["content"])
        if part.get("file_id")
    }
    if not file_ids:
        return {}
    rows = session.execute(
        select(File.id, File.filename).where(File.id.in_(file_ids), File.user_id == user_id)
    )
    return {file_id: filename for file_id, filename in rows}


def _job_items(job: Job, responses: list[Response], names: dict[str, str]) -> list[dict[str, Any]]:
    """The job's user turn, then each response's tool outputs sent to it and its output items."""
    common = {"job_id": job.id}
    items = [
        {
            **common,
            "type": "message",
            "role": "user",
            "response_id": None,
            "created_at": unix(job.created_at),
            "content": [_shown_part(part, names) for part in _parts(message["content"])],
        }
        for message in user_items(job.kind, job.request)
    ]
    for row in responses:
        stamp = {**common, "response_id": row.id, "created_at": unix(row.created_at)}
        items += [{**item, **stamp, "role": "tool"} for item in row.input_items or []]
        items += [{**item, **stamp, "role": "assistant"} for item in row.output]
    return items


def user_text(kind: str, request: dict[str, Any]) -> str:
    """The text of what the user sent in a job, its parts joined by blank lines."""
    return "\n\n".join(
        part["text"]
        for message in user_items(kind, request)
        for part in _parts(message["content"])
        if part["type"] == "input_text"
    )


def _parts(content: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "input_text", "text": content}]
    return content


def _shown_part(part: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """A content part as the transcript shows it: text as sent, an image or file by its name
    (a data URL's bytes stay out of the transcript)."""
    if part["type"] == "input_text":
        return {"type": "input_text", "text": part["text"]}
    shown: dict[str, Any] = {"type": part["type"]}
    url = part.get("image_url") or part.get("file_url")
    if part.get("file_id"):
        shown["file_id"] = part["file_id"]
        shown["name"] = part.get("filename") or names.get(part["file_id"], part["file_id"])
    elif url and url.startswith(DATA_URL_PREFIX):
        media_type = url[len(DATA_URL_PREFIX) :].split(";", 1)[0]
        shown["name"] = f"image.{media_type.rpartition('/')[2]}"
    elif url:
        shown["url"] = url
        shown["name"] = part.get("filename") or _url_name(url)
    return shown


def _url_name(url: str) -> str:
    parts = urlsplit(url)
    return unquote(parts.path.rstrip("/").rpartition("/")[2]) or parts.netloc
