"""Routes under /v1/files: upload, list, retrieve, content, delete."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from offline_openai import ids
from offline_openai.errors import invalid, missing, not_found
from offline_openai.pagination import page
from offline_openai.records import FileRecord
from offline_openai.store import Store, current_store, now

bp = Blueprint("files", __name__)
PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data")


@bp.post("/files")
def upload() -> Any:
    uploaded = request.files.get("file")
    if uploaded is None:
        raise missing("file")
    purpose = request.form.get("purpose")
    if not purpose:
        raise missing("purpose")
    if purpose not in PURPOSES:
        raise invalid(
            f"Invalid value for 'purpose': expected one of {', '.join(PURPOSES)}.", "purpose"
        )
    data = uploaded.read()
    meta: dict[str, Any] = {
        "id": ids.file_id(),
        "object": "file",
        "bytes": len(data),
        "created_at": now(),
        "filename": uploaded.filename or "upload",
        "purpose": purpose,
        "status": "processed",
    }
    store = current_store()
    store.add_file(FileRecord(meta, data))
    return dict(meta)


@bp.get("/files")
def list_files() -> Any:
    store = current_store()
    purpose = request.args.get("purpose")
    with store.lock:
        metas = [
            dict(record.meta)
            for record in store.files.values()
            if purpose is None or record.meta["purpose"] == purpose
        ]
    return page(metas, default_limit=10_000, max_limit=10_000)


@bp.get("/files/<file_id>")
def retrieve(file_id: str) -> Any:
    return dict(_file(current_store(), file_id).meta)


@bp.get("/files/<file_id>/content")
def file_content(file_id: str) -> Any:
    return Response(_file(current_store(), file_id).content, mimetype="application/octet-stream")


@bp.delete("/files/<file_id>")
def delete(file_id: str) -> Any:
    store = current_store()
    with store.lock:
        _file(store, file_id)
        store.delete_file(file_id)
    return {"id": file_id, "object": "file", "deleted": True}


def _file(store: Store, file_id: str) -> FileRecord:
    with store.lock:
        record = store.files.get(file_id)
    if record is None:
        raise not_found("File", file_id)
    return record
