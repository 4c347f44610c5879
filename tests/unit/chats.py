"""Submitting a chat below the HTTP layer, as the unit tests do it."""

from __future__ import annotations

from shared.core.models import Job
from shared.jobs.submission import JobSubmission, submit_job


def submit(
    user: str = "u", conversation_id: str | None = None, key: str | None = None, message: str = "hi"
) -> Job:
    """Submit a chat (a new conversation unless one is named); answer its job."""
    return submit_job(
        JobSubmission(
            user_id=user,
            kind="chat",
            request={"message": message},
            conversation_id=conversation_id,
            new_conversation=conversation_id is None,
            idempotency_key=key,
        )
    )[0]
