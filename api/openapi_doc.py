"""The OpenAPI 3.1 document of the HTTP API, built from the request models and body schemas."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from api import schemas
from shared.jobs import states

REF = "#/components/schemas/{model}"

NULLABLE_INT = {"type": ["integer", "null"]}
NULLABLE_STR = {"type": ["string", "null"]}
OBJECT = {"type": "object"}

BODY_SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["type", "code", "message", "param"],
                "properties": {
                    "type": {"type": "string"},
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "param": NULLABLE_STR,
                },
            }
        },
    },
    "Job": {
        "type": "object",
        "required": ["id", "object", "kind", "status", "created_at", "attempts"],
        "properties": {
            "id": {"type": "string"},
            "object": {"const": "job"},
            "kind": {"enum": ["chat", "response"]},
            "status": {"enum": sorted(states.ALL)},
            "conversation_id": NULLABLE_STR,
            "created_at": {"type": "integer"},
            "started_at": NULLABLE_INT,
            "finished_at": NULLABLE_INT,
            "attempts": {"type": "integer"},
            "queue_position": {"type": "integer"},
            "result": {
                "type": ["object", "null"],
                "properties": {
                    # null while the job runs: output_text is then the text so far
                    "response_id": NULLABLE_STR,
                    "output_text": {"type": "string"},
                    "output": {"type": "array"},
                    "usage": {"type": ["object", "null"]},
                    "parsed": {},
                    # only on a job ended incomplete: why the response stopped early
                    "incomplete_details": {
                        "type": "object",
                        "properties": {"reason": {"type": "string"}},
                    },
                },
            },
            "error": {
                "type": ["object", "null"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            },
            "required_action": {"type": ["object", "null"]},
        },
    },
    "Conversation": {
        "type": "object",
        "required": ["id", "object", "status", "metadata", "created_at", "last_active_at"],
        "properties": {
            "id": {"type": "string"},
            "object": {"const": "conversation"},
            "user_id": {"type": "string"},
            "status": {"enum": ["active", "closed", "expired"]},
            "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
            "created_at": {"type": "integer"},
            "last_active_at": {"type": "integer"},
            "expires_at": NULLABLE_INT,
            "closed_at": NULLABLE_INT,
            "expired_at": NULLABLE_INT,
        },
    },
    "ConversationDeleted": {
        "type": "object",
        "required": ["id", "object", "deleted"],
        "properties": {
            "id": {"type": "string"},
            "object": {"const": "conversation.deleted"},
            "deleted": {"type": "boolean"},
        },
    },
    "StoredResponse": {
        "type": "object",
        "required": ["id", "object", "model", "status", "output_text", "output", "created_at"],
        "properties": {
            "id": {"type": "string"},
            "object": {"const": "response"},
            "job_id": NULLABLE_STR,
            "conversation_id": NULLABLE_STR,
            "model": {"type": "string"},
            "status": {"type": "string"},
            "output_text": {"type": "string"},
            "output": {"type": "array"},
            "usage": {"type": ["object", "null"]},
            "created_at": {"type": "integer"},
        },
    },
    "Health": {"type": "object", "properties": {"status": {"type": "string"}}},
    "JobEvent": {
        "type": "object",
        "required": ["event", "data"],
        "properties": {
            "id": {"type": "string", "pattern": "^[0-9]+-[0-9]+$"},
            "event": {
                "enum": ["status", "output_text.delta", "tool_call", "tool_output"],
            },
            "data": {"type": "string", "contentMediaType": "application/json"},
        },
    },
    "File": {
        "type": "object",
        "required": ["id", "object", "filename", "media_type", "bytes", "sha256", "created_at"],
        "properties": {
            "id": {"type": "string"},
            "object": {"const": "file"},
            "filename": {"type": "string"},
            "media_type": {
                "enum": [
                    "application/pdf",
                    "image/png",
                    "image/jpeg",
                    "image/webp",
                    "image/gif",
                    "text/plain",
                ]
            },
            "bytes": {"type": "integer"},
            "sha256": {"type": "string"},
            "created_at": {"type": "integer"},
        },
    },
    "FileDeleted": {
        "type": "object",
        "required": ["id", "object", "deleted"],
        "properties": {
            "id": {"type": "string"},
            "object": {"const": "file.deleted"},
            "deleted": {"type": "boolean"},
        },
    },
    "FileUpload": {
        "type": "object",
        "required": ["file"],
        "properties": {
            "file": {"type": "string", "contentMediaType": "application/octet-stream"},
            "user_id": {"type": "string"},
        },
    },
}


def _list_of(name: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["object", "data", "has_more"],
        "properties": {
            "object": {"const": "list"},
            "data": {"type": "array", "items": {"$ref": REF.format(model=name)}},
            "first_id": NULLABLE_STR,
            "last_id": NULLABLE_STR,
            "has_more": {"type": "boolean"},
        },
    }


for _name in ("Job", "Conversation", "StoredResponse"):
    BODY_SCHEMAS[f"{_name}List"] = _list_of(_name)


def _json(name: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": REF.format(model=name)}}}


def _answer(description: str, name: str) -> dict[str, Any]:
    return {"description": description, "content": _json(name)}


ERRORS = {
    str(status): _answer(text, "Error")
    for status, text in {
        400: "malformed request",
        401: "missing, unknown or revoked token",
        404: "not found, or not yours",
        409: "conflict with the resource's state",
        413: "body too large",
        415: "wrong content type",
        422: "invalid field",
        429: "rate limited",
        503: "a dependency is down",
    }.items()
}


def _query_params(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=REF)
    return [
        {"name": name, "in": "query", "required": False, "schema": prop}
        for name, prop in schema["properties"].items()
    ]


def _path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _operation(
    summary: str,
    ok: tuple[str, str, str],
    *,
    body: type[BaseModel] | None = None,
    body_required: bool = True,
    params: type[BaseModel] | None = None,
    path: str | None = None,
    headers: list[dict[str, Any]] | None = None,
    secured: bool = True,
) -> dict[str, Any]:
    status, description, schema = ok
    answers = {status: _answer(description, schema)}
    if headers is SUBMIT_HEADERS:
        answers["200"] = _answer("the finished job, when Prefer: wait=N saw it end", "Job")
    operation: dict[str, Any] = {
        "summary": summary,
        "responses": {**answers, **(ERRORS if secured else {})},
    }
    parameters = ([_path(path)] if path else []) + (_query_params(params) if params else [])
    parameters += headers or []
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = {
            "required": body_required,
            "content": _json(body.__name__),
        }
    if not secured:
        operation["security"] = []
    return operation


SUBMIT_HEADERS = [
    {"name": "Idempotency-Key", "in": "header", "schema": {"type": "string", "maxLength": 255}},
    {"name": "Prefer", "in": "header", "schema": {"type": "string", "example": "wait=10"}},
]


def build_document() -> dict[str, Any]:
    request_models: list[type[BaseModel]] = [
        schemas.ChatRequest,
        schemas.ResponsesRequest,
        schemas.ToolOutputsRequest,
        schemas.ConversationPatch,
        schemas.UserScoped,
    ]
    components = dict(BODY_SCHEMAS)
    for model in request_models:
        schema = model.model_json_schema(ref_template=REF)
        components.update(schema.pop("$defs", {}))
        components[model.__name__] = schema
    job = ("200", "the job", "Job")
    conversation = ("200", "the conversation", "Conversation")
    paths = {
        "/v1/chat": {
            "post": _operation(
                "Send a message; answers at once with a job",
                ("202", "the job, queued", "Job"),
                body=schemas.ChatRequest,
                headers=SUBMIT_HEADERS,
            )
        },
        "/v1/responses": {
            "post": _operation(
                "A general Responses request; answers at once with a job",
                ("202", "the job, queued", "Job"),
                body=schemas.ResponsesRequest,
                headers=SUBMIT_HEADERS,
            )
        },
        "/v1/jobs/{job_id}/cancel": {
            "post": _operation(
                "Cancel a queued, waiting or running job",
                job,
                body=schemas.UserScoped,
                body_required=False,
                params=schemas.UserQuery,
                path="job_id",
            )
        },
        "/v1/jobs/{job_id}/tool_outputs": {
            "post": _operation(
                "Outputs of the caller's function calls; resumes a job in requires_action",
                job,
                body=schemas.ToolOutputsRequest,
                path="job_id",
            )
        },
        "/v1/jobs/{job_id}/events": {
            "get": {
                **_operation(
                    "Server-Sent Events: status changes, text deltas, tool calls",
                    ("200", "an event stream", "Job"),
                    params=schemas.UserQuery,
                    path="job_id",
                    headers=[
                        {"name": "Last-Event-ID", "in": "header", "schema": {"type": "string"}}
                    ],
                ),
                "responses": {
                    "200": {
                        "description": "text/event-stream; ends after the terminal status event",
                        "content": {
                            "text/event-stream": {"schema": {"$ref": REF.format(model="JobEvent")}}
                        },
                    },
                    **ERRORS,
                },
            }
        },
        "/v1/files": {
            "post": {
                **_operation("Upload a file (PDF, image or text)", ("201", "the file", "File")),
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {"schema": {"$ref": REF.format(model="FileUpload")}}
                    },
                },
            }
        },
        "/v1/files/{file_id}": {
            "get": _operation(
                "One file", ("200", "the file", "File"), params=schemas.UserQuery, path="file_id"
            ),
            "delete": _operation(
                "Delete a file",
                ("200", "deleted", "FileDeleted"),
                params=schemas.UserQuery,
                path="file_id",
            ),
        },
        "/v1/jobs": {
            "get": _operation(
                "The caller's jobs, newest first",
                ("200", "a page of jobs", "JobList"),
                params=schemas.JobListQuery,
            )
        },
        "/v1/jobs/{job_id}": {
            "get": _operation(
                "One job; ?wait=N holds until it ends", job, params=schemas.JobQuery, path="job_id"
            )
        },
        "/v1/conversations": {
            "get": _operation(
                "The caller's conversations, newest first",
                ("200", "a page of conversations", "ConversationList"),
                params=schemas.ConversationListQuery,
            )
        },
        "/v1/conversations/{conversation_id}": {
            "get": _operation(
                "One conversation", conversation, params=schemas.UserQuery, path="conversation_id"
            ),
            "patch": _operation(
                "Replace its metadata",
                conversation,
                body=schemas.ConversationPatch,
                path="conversation_id",
            ),
            "delete": _operation(
                "Delete it here and upstream",
                ("200", "deleted", "ConversationDeleted"),
                params=schemas.UserQuery,
                path="conversation_id",
            ),
        },
        "/v1/conversations/{conversation_id}/close": {
            "post": _operation(
                "Close it; later messages answer 409",
                conversation,
                body=schemas.UserScoped,
                body_required=False,
                params=schemas.UserQuery,
                path="conversation_id",
            )
        },
        "/v1/conversations/{conversation_id}/responses": {
            "get": _operation(
                "Its responses, oldest first",
                ("200", "a page of responses", "StoredResponseList"),
                params=schemas.ListQuery,
                path="conversation_id",
            )
        },
        "/v1/responses/{response_id}": {
            "get": _operation(
                "One stored response",
                ("200", "the response", "StoredResponse"),
                params=schemas.UserQuery,
                path="response_id",
            )
        },
        "/": {
            "get": {
                "summary": "The web chat page (its files are under /static/)",
                "security": [],
                "responses": {
                    "200": {
                        "description": "the page",
                        "content": {"text/html": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics of the API (keep this off the public internet)",
                "security": [],
                "responses": {
                    "200": {
                        "description": "the Prometheus text format",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
        "/healthz": {"get": _operation("Liveness", ("200", "alive", "Health"), secured=False)},
        "/readyz": {
            "get": _operation(
                "Readiness: database and Redis", ("200", "ready", "Health"), secured=False
            )
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Queued gateway to the OpenAI Responses API", "version": "0.1.0"},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": components,
        },
        "paths": paths,
    }
