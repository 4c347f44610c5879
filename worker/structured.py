"""Structured output: a reply to a json_schema must parse and validate, or the job fails."""

from __future__ import annotations

import json
from typing import Any

from jsonschema import Draft202012Validator

from worker.upstream import UpstreamFailure


def parsed_output(text_config: dict[str, Any] | None, output_text: str) -> Any:
    """The parsed object when the request asked for a json_schema, else None."""
    schema_format = (text_config or {}).get("format") or {}
    if schema_format.get("type") != "json_schema":
        return None
    try:
        value = json.loads(output_text)
    except ValueError:
        raise UpstreamFailure(
            "invalid_structured_output", "The model's reply is not JSON, though a schema was set."
        ) from None
    errors = sorted(
        Draft202012Validator(schema_format["schema"]).iter_errors(value), key=lambda e: e.path
    )
    if errors:
        where = "/".join(str(part) for part in errors[0].absolute_path) or "(root)"
        raise UpstreamFailure(
            "invalid_structured_output",
            f"The model's reply does not satisfy the schema at {where}: {errors[0].message}",
        )
    return value
