"""Files: multipart upload, read, delete."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from api.http import acting_user, query, submitting_user
from api.openapi import FileUpload, documented
from api.schemas import UserQuery
from shared import files
from shared.core.errors import InvalidInput, UnsupportedMediaType
from shared.views import DeletedBody, FileBody

bp = Blueprint("files", __name__)


@bp.post("/v1/files")
@documented({"HTTP_201": FileBody}, form=FileUpload)
def upload_file() -> tuple[dict[str, Any], int]:
    """Upload a file (PDF, image or text)."""
    if not request.mimetype == "multipart/form-data":
        raise UnsupportedMediaType(
            "unsupported_media_type", "Upload the file as multipart/form-data."
        )
    upload = request.files.get("file")
    if upload is None:
        raise InvalidInput("missing_file", "Send the file in a form field named 'file'.", "file")
    user_id = submitting_user(request.form.get("user_id") or query(UserQuery).user_id)
    body = files.create_file(user_id, upload.filename or "upload", upload.read())
    return body, 201


@bp.get("/v1/files/<file_id>")
@documented({"HTTP_200": FileBody}, query=UserQuery)
def read_file(file_id: str) -> dict[str, Any]:
    """One file."""
    return files.get_file(acting_user(query(UserQuery).user_id), file_id)


@bp.delete("/v1/files/<file_id>")
@documented({"HTTP_200": DeletedBody}, query=UserQuery)
def remove_file(file_id: str) -> dict[str, Any]:
    """Delete a file."""
    return files.delete_file(acting_user(query(UserQuery).user_id), file_id)
