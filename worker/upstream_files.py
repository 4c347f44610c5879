"""Our uploaded files reach the upstream Files API the first time a job uses them, once."""

from __future__ import annotations

import copy
from functools import partial
from typing import Any

from openai.types import FilePurpose

from shared.core import task_names
from shared.core.celery_app import celery_app
from shared.core.openai_client import get_openai_client
from shared.files import file_for_upload, set_upstream_id
from shared.jobs.request_rules import file_parts
from worker.persist import persist
from worker.upstream import UpstreamFailure


def with_upstream_file_ids(input_value: Any) -> Any:
    """The input with every `file_…` id of ours replaced by its upstream file id."""
    resolved = copy.deepcopy(input_value)
    for part, _param in file_parts(resolved):
        if part["file_id"].startswith("file_"):
            part["file_id"] = upstream_file_id(part["file_id"])
    return resolved


def upstream_file_id(file_id: str) -> str:
    found = file_for_upload(file_id)
    if found is None:
        raise _deleted(file_id)
    file, content = found
    if file.upstream_id:
        return file.upstream_id
    purpose: FilePurpose = "vision" if file.media_type.startswith("image/") else "user_data"
    uploaded = get_openai_client().files.create(
        file=(file.filename, content, file.media_type), purpose=purpose
    )
    kept = persist(partial(set_upstream_id, file_id, uploaded.id))
    if kept != uploaded.id:  # deleted meanwhile, or another job's copy was kept first
        celery_app.send_task(task_names.DELETE_UPSTREAM_FILE, args=[uploaded.id])
    if kept is None:
        raise _deleted(file_id)
    return kept


def _deleted(file_id: str) -> UpstreamFailure:
    return UpstreamFailure(
        "file_not_found", f"The file {file_id} was deleted before the job could send it."
    )
