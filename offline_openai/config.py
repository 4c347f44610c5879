"""Runtime configuration of the offline upstream: parsed from env, patched live over HTTP."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

FAULT_KINDS = ("429", "500", "drop")
CAPABILITIES = ("conversations", "retrieve", "background", "previous_response", "safety_identifier")
DEFAULT_PORT = 8089

_TRUE_WORDS = {"1", "true", "yes", "on"}
_FALSE_WORDS = {"0", "false", "no", "off"}


class ConfigError(ValueError):
    """A configuration value is malformed; `name` is the variable or field at fault."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


def _default_faults() -> dict[str, float]:
    return dict.fromkeys(FAULT_KINDS, 0.0)


def _default_capabilities() -> dict[str, bool]:
    return dict.fromkeys(CAPABILITIES, True)


@dataclasses.dataclass(frozen=True)
class OfflineConfig:
    """Everything that changes how the offline upstream answers."""

    latency_ms: int = 0
    faults: Mapping[str, float] = dataclasses.field(default_factory=_default_faults)
    hang: bool = False
    capabilities: Mapping[str, bool] = dataclasses.field(default_factory=_default_capabilities)
    api_key: str | None = None
    retry_after_ms: int = 1000
    # Response ids this long (LiteLLM's run to several hundred characters); 0: OpenAI's shape.
    response_id_length: int = 0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> OfflineConfig:
        patch: dict[str, Any] = {}
        raw = env.get("OFFLINE_OPENAI_LATENCY_MS", "").strip()
        if raw:
            patch["latency_ms"] = _parse_int("OFFLINE_OPENAI_LATENCY_MS", raw)
        raw = env.get("OFFLINE_OPENAI_FAULTS", "").strip()
        if raw:
            patch["faults"] = {
                key: _parse_float("OFFLINE_OPENAI_FAULTS", value)
                for key, value in _pairs("OFFLINE_OPENAI_FAULTS", raw)
            }
        raw = env.get("OFFLINE_OPENAI_CAPABILITIES", "").strip()
        if raw:
            patch["capabilities"] = {
                key: _parse_bool("OFFLINE_OPENAI_CAPABILITIES", value)
                for key, value in _pairs("OFFLINE_OPENAI_CAPABILITIES", raw)
            }
        raw = env.get("OFFLINE_OPENAI_API_KEY", "").strip()
        if raw:
            patch["api_key"] = raw
        try:
            return cls().updated(patch)
        except ConfigError as exc:
            env_name = {
                "latency_ms": "OFFLINE_OPENAI_LATENCY_MS",
                "faults": "OFFLINE_OPENAI_FAULTS",
                "capabilities": "OFFLINE_OPENAI_CAPABILITIES",
            }.get(exc.name.split(".")[0], exc.name)
            raise ConfigError(env_name, exc.message) from exc

    def updated(self, patch: Mapping[str, Any]) -> OfflineConfig:
        """Return a copy with `patch` applied; nested maps are merged key by key."""
        if not isinstance(patch, Mapping):
            raise ConfigError("config", "expected a JSON object")
        changes: dict[str, Any] = {}
        for key, value in patch.items():
            if key in ("latency_ms", "retry_after_ms", "response_id_length"):
                changes[key] = _check_int(key, value)
            elif key == "hang":
                if not isinstance(value, bool):
                    raise ConfigError(key, "expected true or false")
                changes[key] = value
            elif key == "faults":
                changes[key] = _merge_faults(self.faults, value)
            elif key == "capabilities":
                changes[key] = _merge_capabilities(self.capabilities, value)
            elif key == "api_key":
                if value is not None and (not isinstance(value, str) or not value):
                    raise ConfigError(key, "expected a non-empty string or null")
                changes[key] = value
            else:
                raise ConfigError(str(key), "unknown setting")
        return dataclasses.replace(self, **changes)

    def allows(self, capability: str) -> bool:
        return bool(self.capabilities.get(capability, True))

    def to_json(self) -> dict[str, Any]:
        return {
            "latency_ms": self.latency_ms,
            "faults": dict(self.faults),
            "hang": self.hang,
            "capabilities": dict(self.capabilities),
            "api_key": self.api_key,
            "retry_after_ms": self.retry_after_ms,
            "response_id_length": self.response_id_length,
        }


def port_from_env(env: Mapping[str, str]) -> int:
    raw = env.get("OFFLINE_OPENAI_PORT", "").strip()
    if not raw:
        return DEFAULT_PORT
    port = _parse_int("OFFLINE_OPENAI_PORT", raw)
    if port > 65535:
        raise ConfigError("OFFLINE_OPENAI_PORT", f"{raw!r} is not a TCP port")
    return port


def _pairs(name: str, raw: str) -> list[tuple[str, str]]:
    pairs = []
    for chunk in raw.split(","):
        chunk = chunk.strip()
        if not chunk:
            continue
        key, sep, value = chunk.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ConfigError(name, f"expected key=value pairs separated by commas, got {chunk!r}")
        pairs.append((key.strip(), value.strip()))
    return pairs


def _parse_int(name: str, raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(name, f"{raw!r} is not an integer") from None
    if value < 0:
        raise ConfigError(name, f"{raw!r} must not be negative")
    return value


def _parse_float(name: str, raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(name, f"{raw!r} is not a number") from None


def _parse_bool(name: str, raw: str) -> bool:
    word = raw.lower()
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    raise ConfigError(name, f"{raw!r} is not true or false")


def _check_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(name, "expected a non-negative integer")
    return value


def _merge_faults(current: Mapping[str, float], patch: Any) -> dict[str, float]:
    if not isinstance(patch, Mapping):
        raise ConfigError("faults", 'expected an object like {"429": 0.3}')
    merged = dict(current)
    for key, value in patch.items():
        if key not in FAULT_KINDS:
            raise ConfigError(
                "faults", f"unknown fault {key!r} (expected {', '.join(FAULT_KINDS)})"
            )
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        if not is_number or not math.isfinite(value) or not 0.0 <= value <= 1.0:
            raise ConfigError("faults", f"share for {key!r} must be a number from 0 to 1")
        merged[key] = float(value)
    if sum(merged.values()) > 1.0 + 1e-9:
        raise ConfigError("faults", "the shares add up to more than 1")
    return merged


def _merge_capabilities(current: Mapping[str, bool], patch: Any) -> dict[str, bool]:
    if not isinstance(patch, Mapping):
        raise ConfigError("capabilities", 'expected an object like {"retrieve": false}')
    merged = dict(current)
    for key, value in patch.items():
        if key not in CAPABILITIES:
            raise ConfigError(
                "capabilities", f"unknown capability {key!r} (expected {', '.join(CAPABILITIES)})"
            )
        if not isinstance(value, bool):
            raise ConfigError("capabilities", f"{key!r} must be true or false")
        merged[key] = value
    return merged
