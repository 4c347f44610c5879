"""How a job, a conversation, a response and a file look in API bodies."""

from __future__ import annotations

from typing import Any, TypeAlias

from sqlalchemy import Row

from shared.core.clock import unix
from shared.core.models import Conversation, File, Job, Response

# A job as an entity, or as a row of the jobs table read by a Core statement: its columns go by
# the same names, and the union has type checks hold a reader to the names `Job` has.
JobColumns: TypeAlias = Job | Row[Any]


def job_body(job: JobColumns, queue_position: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": job.id,
        "object": "job",
        "kind": job.kind,
        "status": job.status,
        "conversation_id": job.conversation_id,
        "created_at": unix(job.created_at),
        "started_at": unix(job.started_at),
        "finished_at": unix(job.finished_at),
        "attempts": job.attempts,
        "result": job.result,
        "error": job.error,
        "required_action": job.required_action,
    }
    if queue_position is not None:
        body["queue_position"] = queue_position
    return body


def conversation_body(conversation: Conversation, ttl_seconds: float) -> dict[str, Any]:
    expires_at = None
    if conversation.status == "active":
        expires_at = int(conversation.last_active_at.timestamp() + ttl_seconds)
    return {
        "id": conversation.id,
        "object": "conversation",
        "user_id": conversation.user_id,
        "status": conversation.status,
        "metadata": conversation.meta,
        "created_at": unix(conversation.created_at),
        "last_active_at": unix(conversation.last_active_at),
        "expires_at": expires_at,
        "closed_at": unix(conversation.closed_at),
        "expired_at": unix(conversation.expired_at),
    }


def response_body(response: Response) -> dict[str, Any]:
    return {
        "id": response.id,
        "object": "response",
        "job_id": response.job_id,
        "conversation_id": response.conversation_id,
        "model": response.model,
        "status": response.status,
        "output_text": response.output_text,
        "output": response.output,
        "usage": response.usage,
        "created_at": unix(response.created_at),
    }


def file_body(file: File) -> dict[str, Any]:
    return {
        "id": file.id,
        "object": "file",
        "filename": file.filename,
        "media_type": file.media_type,
        "bytes": file.size,
        "sha256": file.sha256,
        "created_at": unix(file.created_at),
    }
