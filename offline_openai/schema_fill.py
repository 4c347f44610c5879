"""Deterministic generator of a valid instance for a JSON Schema (structured output, tool args)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from jsonschema import Draft202012Validator

from offline_openai.schema_numbers import number, number_candidates

NO_HINT = object()
Hint = Callable[[str, dict[str, Any]], Any]

_MAX_DEPTH = 8
_FORMAT_VALUES = {
    "date-time": "2024-01-01T00:00:00Z",
    "date": "2024-01-01",
    "time": "12:00:00Z",
    "duration": "P1D",
    "email": "user@example.com",
    "idn-email": "user@example.com",
    "hostname": "example.com",
    "idn-hostname": "example.com",
    "ipv4": "127.0.0.1",
    "ipv6": "::1",
    "uri": "https://example.com/",
    "iri": "https://example.com/",
    "uri-reference": "https://example.com/",
    "url": "https://example.com/",
    "uuid": "00000000-0000-4000-8000-000000000000",
}
_PATTERN_GUESSES = ("a", "A", "0", "abc", "ABC", "a1", "A1", "123", "aaa-000", "offline", "")


def fill(schema: Any, *, text: str = "offline", hint: Hint | None = None) -> Any:
    """Return a value that validates against `schema` (best effort for exotic keywords)."""
    return _Filler(schema, text, hint).value(schema, 0, 0)


class _Filler:
    def __init__(self, root: Any, text: str, hint: Hint | None) -> None:
        self.root = root
        self.text = text
        self.hint = hint
        self.validator = Draft202012Validator(root if isinstance(root, dict | bool) else {})

    def valid(self, schema: Any, value: Any) -> bool:
        try:
            return bool(self.validator.evolve(schema=schema).is_valid(value))
        except Exception:  # an unresolvable ref or odd keyword: trust the generator
            return True

    def resolve(self, schema: Any, seen: int = 0) -> Any:
        if not isinstance(schema, dict) or "$ref" not in schema or seen > 32:
            return schema
        target = self._pointer(schema["$ref"])
        if not isinstance(target, dict):
            return {key: value for key, value in schema.items() if key != "$ref"}
        siblings = {key: value for key, value in schema.items() if key != "$ref"}
        return self.resolve(_merge(target, siblings), seen + 1)

    def _pointer(self, ref: Any) -> Any:
        if not isinstance(ref, str) or not ref.startswith("#"):
            return None
        node = self.root
        for token in filter(None, ref[1:].split("/")):
            token = token.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and token in node:
                node = node[token]
            elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                node = node[int(token)]
            else:
                return None
        return node

    def value(self, schema: Any, depth: int, variant: int) -> Any:
        if schema is True or schema is None:
            return self.string({}, variant)
        if schema is False or not isinstance(schema, dict):
            return None
        schema = self.resolve(schema)
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            options = schema["enum"]
            rotated = options[variant % len(options) :] + options[: variant % len(options)]
            return next((opt for opt in rotated if self.valid(schema, opt)), options[0])
        if isinstance(schema.get("allOf"), list):
            merged = {key: value for key, value in schema.items() if key != "allOf"}
            for part in schema["allOf"]:
                merged = _merge(merged, self.resolve(part))
            return self.value(merged, depth + 1, variant)
        for key in ("anyOf", "oneOf"):
            if isinstance(schema.get(key), list) and schema[key]:
                return self.branch(schema, key, depth, variant)
        kinds = schema.get("type")
        if isinstance(kinds, list):
            ordered = sorted(kinds, key=lambda kind: kind == "null")
            candidates = [
                value
                for kind in ordered
                for value in self.alternatives({**schema, "type": kind}, depth, variant)
            ]
            return next((c for c in candidates if self.valid(schema, c)), candidates[0])
        return self.typed(
            kinds if isinstance(kinds, str) else _infer_type(schema), schema, depth, variant
        )

    def branch(self, schema: dict[str, Any], key: str, depth: int, variant: int) -> Any:
        base = {name: value for name, value in schema.items() if name != key}
        branches = [self.resolve(option) for option in schema[key]]
        if depth >= _MAX_DEPTH:
            # Deep inside a recursive schema: prefer the branch that stops recursing.
            branches.sort(key=lambda option: not _is_leaf(option))
        else:
            branches.sort(
                key=lambda option: isinstance(option, dict) and option.get("type") == "null"
            )
        first: Any = NO_HINT
        for option in branches:
            for candidate in self.alternatives(_merge(base, option), depth + 1, variant):
                if first is NO_HINT:
                    first = candidate
                if self.valid(schema, candidate):
                    return candidate
        return None if first is NO_HINT else first

    def alternatives(self, schema: dict[str, Any], depth: int, variant: int) -> list[Any]:
        """A few different valid-looking values, for oneOf/anyOf/type lists to choose from."""
        kind = schema.get("type")
        plain = not any(key in schema for key in ("const", "enum", "anyOf", "oneOf", "allOf"))
        if plain and kind in ("number", "integer"):
            return number_candidates(schema, kind == "integer")[:12]
        return [self.value(schema, depth, variant + offset) for offset in range(3)]

    def typed(self, kind: str, schema: dict[str, Any], depth: int, variant: int) -> Any:
        if kind == "object":
            return self.object(schema, depth, variant)
        if kind == "array":
            return self.array(schema, depth, variant)
        if kind in ("integer", "number"):
            return number(schema, kind == "integer", variant)
        if kind == "boolean":
            return variant % 2 == 0
        if kind == "null":
            return None
        return self.string(schema, variant)

    def object(self, schema: dict[str, Any], depth: int, variant: int) -> dict[str, Any]:
        properties = _keyword(schema, "properties", dict, {})
        required = [
            name for name in _keyword(schema, "required", list, []) if isinstance(name, str)
        ]
        names = (
            list(required) if depth >= _MAX_DEPTH else list(dict.fromkeys([*required, *properties]))
        )
        maximum = schema.get("maxProperties")
        if isinstance(maximum, int) and len(names) > maximum:
            optional = [name for name in names if name not in required]
            names = required + optional[: max(0, maximum - len(required))]
        extra_schema = schema.get("additionalProperties", True)
        result: dict[str, Any] = {}
        for name in names:
            sub = properties.get(name, extra_schema if isinstance(extra_schema, dict) else True)
            result[name] = self.property(name, sub, depth, variant)
        minimum = schema.get("minProperties")
        index = 1
        while isinstance(minimum, int) and len(result) < minimum and extra_schema is not False:
            name = f"extra_{index}"
            sub = extra_schema if isinstance(extra_schema, dict) else True
            result.setdefault(name, self.value(sub, depth + 1, index))
            index += 1
        return result

    def property(self, name: str, schema: Any, depth: int, variant: int) -> Any:
        if self.hint is not None:
            resolved = self.resolve(schema)
            hinted = self.hint(name, resolved if isinstance(resolved, dict) else {})
            if hinted is not NO_HINT and self.valid(schema, hinted):
                return hinted
        return self.value(schema, depth + 1, variant)

    def array(self, schema: dict[str, Any], depth: int, variant: int) -> list[Any]:
        prefix: list[Any] = _keyword(schema, "prefixItems", list, [])
        items = schema.get("items", True)
        minimum: int = _keyword(schema, "minItems", int, 0)
        maximum: int | None = _keyword(schema, "maxItems", int, None)
        count = max(minimum, len(prefix), 0 if depth >= _MAX_DEPTH else 1)
        if items is False:
            count = min(count, len(prefix))
        if maximum is not None:
            count = min(count, maximum)
        result: list[Any] = []
        for index in range(count):
            sub = prefix[index] if index < len(prefix) else items
            value = self.value(sub, depth + 1, variant + index)
            if schema.get("uniqueItems") is True:
                for attempt in range(1, 24):
                    if value not in result:
                        break
                    value = self.value(sub, depth + 1, variant + index + attempt)
            result.append(value)
        return result

    def string(self, schema: dict[str, Any], variant: int) -> str:
        fmt = schema.get("format")
        base = _FORMAT_VALUES.get(fmt, self.text) if isinstance(fmt, str) else self.text
        if variant and fmt not in _FORMAT_VALUES:
            base = f"{variant} {base}"
        pattern = schema.get("pattern")
        if isinstance(pattern, str):
            for guess in (base, *(f"{g}{variant or ''}" for g in _PATTERN_GUESSES)):
                if _matches(pattern, guess) and self.valid(schema, guess):
                    return guess
        minimum: int = _keyword(schema, "minLength", int, 0)
        maximum: int | None = _keyword(schema, "maxLength", int, None)
        if maximum is not None and len(base) > maximum:
            base = base[:maximum].rstrip() if maximum else ""
            if len(base) < minimum:
                base = base.ljust(minimum, "x")
        if len(base) < minimum:
            base = base + "x" * (minimum - len(base))
        return base


def _keyword(schema: dict[str, Any], name: str, kind: type, default: Any) -> Any:
    """A keyword's value when it has the expected JSON type, else `default`."""
    value = schema.get(name)
    return value if isinstance(value, kind) and not isinstance(value, bool) else default


def _matches(pattern: str, value: str) -> bool:
    try:
        return re.search(pattern, value) is not None
    except re.error:
        return False


def _is_leaf(schema: Any) -> bool:
    if not isinstance(schema, dict):
        return True
    return "$ref" not in schema and schema.get("type") not in ("object", "array")


def _infer_type(schema: dict[str, Any]) -> str:
    if "properties" in schema or "required" in schema or "additionalProperties" in schema:
        return "object"
    if "items" in schema or "prefixItems" in schema or "minItems" in schema:
        return "array"
    if any(key in schema for key in ("minimum", "maximum", "multipleOf", "exclusiveMinimum")):
        return "number"
    return "string"


def _merge(base: dict[str, Any], extra: Any) -> dict[str, Any]:
    if not isinstance(extra, dict):
        return dict(base)
    merged = dict(base)
    for key, value in extra.items():
        if key == "properties" and isinstance(merged.get(key), dict) and isinstance(value, dict):
            merged[key] = {**merged[key], **value}
        elif key == "required" and isinstance(merged.get(key), list) and isinstance(value, list):
            merged[key] = list(dict.fromkeys([*merged[key], *value]))
        else:
            merged[key] = value
    return merged
