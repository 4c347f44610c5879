"""The API's bodies as pydantic models, the one source of what each holds (and of /openapi.json),
and the builders that fill them from the records."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal, TypeAlias, get_args

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Row

from shared.core.clock import unix
from shared.core.models import (
    Conversation,
    File,
    Job,
    Response,
    UsageDay,
    WebhookAttempt,
    WebhookDelivery,
)
from shared.core.pagination import ListBody
from shared.jobs import states

# A job as an entity, or as a row of the jobs table read by a Core statement: its columns go by
# the same names, and the union has type checks hold a reader to the names `Job` has.
JobColumns: TypeAlias = Job | Row[Any]

JobStatus = Literal[
    "queued", "in_progress", "requires_action", "completed", "failed", "cancelled", "incomplete"
]
assert set(get_args(JobStatus)) == states.ALL
# What an upload may be (the files service tells them by their bytes).
MediaType = Literal[
    "application/pdf", "image/png", "image/jpeg", "image/webp", "image/gif", "text/plain"
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class JobResult(BaseModel):
    """What the job's responses made; while it runs, the text so far."""

    model_config = ConfigDict(extra="allow")

    response_id: str | None = Field(None, description="null while the job runs")
    output_text: str = ""
    output: list[Any] = []
    usage: dict[str, Any] | None = None
    parsed: Any = Field(None, description="the object a json_schema text format asked for")
    incomplete_details: dict[str, Any] | None = Field(
        None, description="why an incomplete job stopped, e.g. {'reason': 'max_output_tokens'}"
    )


class JobError(BaseModel):
    model_config = ConfigDict(extra="allow")

    code: str
    message: str = ""


class JobBody(_Body):
    id: str
    object: Literal["job"]
    kind: Literal["chat", "response"]
    status: JobStatus
    conversation_id: str | None
    created_at: int
    started_at: int | None
    finished_at: int | None
    attempts: int
    queue_position: int | None = Field(None, description="only while queued")
    result: JobResult | None
    error: JobError | None
    required_action: dict[str, Any] | None


class ConversationBody(_Body):
    id: str
    object: Literal["conversation"]
    user_id: str
    status: Literal["active", "closed", "expired"]
    metadata: dict[str, str]
    created_at: int
    last_active_at: int
    expires_at: int | None
    closed_at: int | None
    expired_at: int | None


class StoredResponseBody(_Body):
    id: str
    object: Literal["response"]
    job_id: str | None
    conversation_id: str | None
    model: str
    status: str
    output_text: str
    output: list[Any]
    usage: dict[str, Any] | None
    created_at: int


class FileBody(_Body):
    id: str
    object: Literal["file"]
    filename: str
    media_type: MediaType
    bytes: int
    sha256: str
    created_at: int


class DeletedBody(_Body):
    id: str
    object: Literal["conversation.deleted", "file.deleted"]
    deleted: bool


class UsageCounts(BaseModel):
    input_tokens: int
    output_tokens: int
    total_tokens: int
    jobs: int = Field(description="jobs that finished (any terminal status)")


class UsageDayBody(UsageCounts):
    date: str = Field(description="a UTC day, YYYY-MM-DD")


class BudgetWindow(BaseModel):
    used_tokens: int
    budget_tokens: int | None = Field(description="null: unlimited")
    remaining_tokens: int | None = Field(description="null: unlimited; 0 once spent")
    resets_at: int = Field(description="when the window ends (unix seconds, UTC)")


class UsageBody(_Body):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    object: Literal["usage"]
    user_id: str
    from_date: str = Field(alias="from")
    to_date: str = Field(alias="to")
    days: list[UsageDayBody] = Field(description="the days with finished jobs, oldest first")
    total: UsageCounts
    today: BudgetWindow
    this_month: BudgetWindow


WebhookEventType = Literal[
    "job.completed", "job.failed", "job.cancelled", "job.incomplete", "job.requires_action"
]


class WebhookAttemptBody(_Body):
    attempted_at: int
    duration_ms: int
    status_code: int | None = Field(description="the receiver's answer; null if none came")
    error: str | None = Field(description="why no answer came (timeout, refused address, …)")
    next_attempt_at: int | None = Field(description="the retry this attempt's failure scheduled")


class WebhookDeliveryBody(_Body):
    id: str = Field(description="the webhook-id header of every attempt of this delivery")
    object: Literal["webhook.delivery"]
    job_id: str
    event_type: WebhookEventType
    url: str
    status: Literal["pending", "delivered", "failed"] = Field(
        description="failed: not delivered within WEBHOOK_RETRY_HOURS"
    )
    created_at: int
    next_attempt_at: int | None = Field(description="while pending: when it is tried next")
    finished_at: int | None
    attempts: list[WebhookAttemptBody] = Field(description="oldest first")


class JobList(ListBody):
    data: list[JobBody]


class WebhookDeliveryList(ListBody):
    data: list[WebhookDeliveryBody]


class ConversationList(ListBody):
    data: list[ConversationBody]


class StoredResponseList(ListBody):
    data: list[StoredResponseBody]


def _dump(body: BaseModel) -> dict[str, Any]:
    # Only what the builder set: optional fields it left out stay out of the body.
    return body.model_dump(exclude_unset=True)


def job_body(job: JobColumns, queue_position: int | None = None) -> dict[str, Any]:
    body = JobBody(
        id=job.id,
        object="job",
        kind=job.kind,
        status=job.status,
        conversation_id=job.conversation_id,
        created_at=unix(job.created_at),
        started_at=unix(job.started_at),
        finished_at=unix(job.finished_at),
        attempts=job.attempts,
        result=job.result,
        error=job.error,
        required_action=job.required_action,
    )
    if queue_position is not None:
        body.queue_position = queue_position
    return _dump(body)


def conversation_body(conversation: Conversation, ttl_seconds: float) -> dict[str, Any]:
    expires_at = None
    if conversation.status == "active":
        expires_at = int(conversation.last_active_at.timestamp() + ttl_seconds)
    return _dump(
        ConversationBody(
            id=conversation.id,
            object="conversation",
            user_id=conversation.user_id,
            status=conversation.status,
            metadata=conversation.meta,
            created_at=unix(conversation.created_at),
            last_active_at=unix(conversation.last_active_at),
            expires_at=expires_at,
            closed_at=unix(conversation.closed_at),
            expired_at=unix(conversation.expired_at),
        )
    )


def response_body(response: Response) -> dict[str, Any]:
    return _dump(
        StoredResponseBody(
            id=response.id,
            object="response",
            job_id=response.job_id,
            conversation_id=response.conversation_id,
            model=response.model,
            status=response.status,
            output_text=response.output_text,
            output=response.output,
            usage=response.usage,
            created_at=unix(response.created_at),
        )
    )


def file_body(file: File) -> dict[str, Any]:
    return _dump(
        FileBody(
            id=file.id,
            object="file",
            filename=file.filename,
            media_type=file.media_type,
            bytes=file.size,
            sha256=file.sha256,
            created_at=unix(file.created_at),
        )
    )


def budget_window(used: int, budget: int | None, ends: datetime) -> BudgetWindow:
    return BudgetWindow(
        used_tokens=used,
        budget_tokens=budget,
        remaining_tokens=None if budget is None else max(0, budget - used),
        resets_at=int(ends.timestamp()),
    )


def usage_body(
    user_id: str,
    first: date,
    last: date,
    days: list[UsageDay],
    today: BudgetWindow,
    this_month: BudgetWindow,
) -> dict[str, Any]:
    counts = [
        UsageDayBody(
            date=day.day.isoformat(),
            input_tokens=day.input_tokens,
            output_tokens=day.output_tokens,
            total_tokens=day.total_tokens,
            jobs=day.jobs,
        )
        for day in days
    ]
    total = UsageCounts(
        input_tokens=sum(day.input_tokens for day in counts),
        output_tokens=sum(day.output_tokens for day in counts),
        total_tokens=sum(day.total_tokens for day in counts),
        jobs=sum(day.jobs for day in counts),
    )
    body = UsageBody(
        object="usage",
        user_id=user_id,
        from_date=first.isoformat(),
        to_date=last.isoformat(),
        days=counts,
        total=total,
        today=today,
        this_month=this_month,
    )
    return body.model_dump(by_alias=True)


def deleted_body(object_id: str, kind: Literal["conversation", "file"]) -> dict[str, Any]:
    return _dump(DeletedBody(id=object_id, object=f"{kind}.deleted", deleted=True))


def delivery_body(delivery: WebhookDelivery, attempts: list[WebhookAttempt]) -> dict[str, Any]:
    return _dump(
        WebhookDeliveryBody(
            id=delivery.id,
            object="webhook.delivery",
            job_id=delivery.job_id,
            event_type=delivery.event_type,
            url=delivery.url,
            status=delivery.status,
            created_at=unix(delivery.created_at),
            next_attempt_at=unix(delivery.next_attempt_at),
            finished_at=unix(delivery.finished_at),
            attempts=[
                WebhookAttemptBody(
                    attempted_at=unix(attempt.attempted_at),
                    duration_ms=attempt.duration_ms,
                    status_code=attempt.status_code,
                    error=attempt.error,
                    next_attempt_at=unix(attempt.next_attempt_at),
                )
                for attempt in attempts
            ],
        )
    )
