"""The one settings object: read from the environment (and `.env`) once, validated, frozen."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from shared.core.secret_rules import secret_weakness

HistoryMode = Literal["auto", "conversations", "previous_response", "local"]


class SettingsError(SystemExit):
    """A bad setting: start-up stops with one line naming the variable."""


class Settings(BaseSettings):
    # Names as written; an empty value is unset; MCP_ALLOWED_URLS is comma-separated, not JSON;
    # `.env` may hold other programs' variables (the client's GATEWAY_…).
    model_config = SettingsConfigDict(
        frozen=True,
        extra="ignore",
        case_sensitive=True,
        env_ignore_empty=True,
        enable_decoding=False,
    )

    DATABASE_URL: str = "sqlite:///data/app.db"
    REDIS_URL: str = "redis://127.0.0.1:6379/0"
    OPENAI_API_KEY: str = Field(default="", repr=False)
    OPENAI_BASE_URL: str = ""
    OPENAI_MODEL: str = "gpt-5-nano"
    OPENAI_TIMEOUT_SECONDS: float = Field(default=60.0, gt=0)
    OPENAI_MAX_RETRIES: int = Field(default=4, ge=0, le=10)
    CONVERSATION_TTL_MINUTES: float = Field(default=30.0, gt=0)
    EXPIRY_SWEEP_SECONDS: float = Field(default=60.0, gt=0)
    DELETE_EXPIRED_UPSTREAM: bool = False
    RECONCILE_SECONDS: float = Field(default=5.0, gt=0)
    JOB_TIMEOUT_SECONDS: float = Field(default=900.0, gt=0)
    JOB_LEASE_SECONDS: float = Field(default=30.0, gt=0)
    MAX_TOOL_ROUNDS: int = Field(default=8, ge=1, le=64)
    MAX_UPLOAD_BYTES: int = Field(default=20 * 1024 * 1024, gt=0)
    MAX_REQUEST_BYTES: int = Field(default=10 * 1024 * 1024, gt=0)
    RATE_LIMIT: str = Field(default="600/minute", pattern=r"^\d+/(second|minute|hour)$")
    USER_MAX_INFLIGHT: int = Field(default=32, ge=1)
    # Tokens a user may spend per UTC day and calendar month (unset: unlimited).
    USER_DAILY_TOKENS: int | None = Field(default=None, ge=0)
    USER_MONTHLY_TOKENS: int | None = Field(default=None, ge=0)
    # fair: users take turns (by weight) under per-user in-flight limits; fifo: arrival order.
    SCHEDULING: Literal["fair", "fifo"] = "fair"
    BROKER_MAX_PENDING: int = Field(default=256, ge=1)
    RESEND_AFTER_SECONDS: float = Field(default=30.0, gt=0)
    MAX_JOB_ATTEMPTS: int = Field(default=5, ge=1)
    MCP_ALLOWED_URLS: tuple[str, ...] = ()
    WEATHER_API_URL: str = "https://api.open-meteo.com/v1/forecast"
    GEOCODING_API_URL: str = "https://geocoding-api.open-meteo.com/v1/search"
    RETENTION_DAYS: float = Field(default=30.0, gt=0)
    EVENT_RETENTION_SECONDS: int = Field(default=3600, gt=0)
    LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    LOG_FORMAT: Literal["json", "text"] = "json"
    BOOTSTRAP_TOKEN: str = Field(default="", repr=False)
    # Where the API and the metrics servers listen: this host only unless told (compose: 0.0.0.0).
    BIND_HOST: str = "127.0.0.1"
    API_PORT: int = Field(default=8000, ge=1, le=65535)
    API_WORKERS: int = Field(default=2, ge=1)
    API_THREADS: int = Field(default=32, ge=1)
    WORKER_CONCURRENCY: int = Field(default=64, ge=1)
    OFFLINE_OPENAI_PORT: int = Field(default=8089, ge=1, le=65535)
    OFFLINE_OPENAI_LATENCY_MS: int = Field(default=0, ge=0)
    OFFLINE_OPENAI_FAULTS: str = ""
    OFFLINE_OPENAI_CAPABILITIES: str = ""
    # Where `make run`'s offline upstream keeps its state (empty: in memory, lost at restart).
    OFFLINE_OPENAI_STATE: str = "data/offline-openai.db"
    OFFLINE_WEATHER_PORT: int = Field(default=8090, ge=1, le=65535)
    UPSTREAM_HISTORY: HistoryMode = "auto"
    UPSTREAM_HISTORY_MAX_ITEMS: int = Field(default=100, ge=1)
    # Empty: <temp dir>/gateway-api-metrics-<API_PORT>, so two gateways on one host never share.
    API_METRICS_DIR: str = ""
    WORKER_METRICS_PORT: int = Field(default=9101, ge=0, le=65535)  # 0: no metrics server
    BEAT_METRICS_PORT: int = Field(default=9102, ge=0, le=65535)  # 0: no metrics server
    # Flower reads these two itself; here they are validated and documented with the rest.
    FLOWER_BASIC_AUTH: str = Field(
        default="", repr=False, pattern=r"^$|^[^:,]+:[^,]+(,[^:,]+:[^,]+)*$"
    )
    FLOWER_PORT: int = Field(default=5555, ge=1, le=65535)
    # How long the original app's POST /chat holds its request for the reply (then 202, the job).
    COMPAT_WAIT_SECONDS: float = Field(default=30.0, ge=0, le=300)
    # Set: every metrics endpoint answers only this bearer token. Empty: only loopback callers.
    METRICS_TOKEN: str = Field(default="", repr=False)
    # The bound every upstream call carries, and the most a caller may ask for.
    MAX_OUTPUT_TOKENS: int = Field(default=4096, ge=16)
    # Models callers may name (OPENAI_MODEL always); empty: OPENAI_MODEL only; "*": any model.
    ALLOWED_MODELS: tuple[str, ...] = ()
    # auto: sent unless the capability probe finds the upstream refuses it.
    SAFETY_IDENTIFIER: Literal["auto", "on", "off"] = "auto"
    # Empty: a random key made once and kept in Redis.
    SAFETY_IDENTIFIER_KEY: str = Field(default="", repr=False)
    # A webhook delivery: each step (connect, send, wait for the answer) within this.
    WEBHOOK_TIMEOUT_SECONDS: float = Field(default=10.0, gt=0, le=300)
    # How long a delivery is retried, from its event; then it is given up.
    WEBHOOK_RETRY_HOURS: float = Field(default=24.0, gt=0)
    # The first retry's delay, doubled at each retry up to the most (jitter takes up to half).
    WEBHOOK_RETRY_BASE_SECONDS: float = Field(default=5.0, gt=0)
    WEBHOOK_RETRY_MAX_SECONDS: float = Field(default=3600.0, gt=0)
    # Hosts a webhook may name over http, and whose addresses may be private (loopback, ...).
    WEBHOOK_ALLOWED_HOSTS: tuple[str, ...] = ()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The environment, then `.env` (or the file DOTENV_PATH names); no secrets directory."""
        dotenv = DotEnvSettingsSource(settings_cls, env_file=os.environ.get("DOTENV_PATH", ".env"))
        return init_settings, env_settings, dotenv

    @field_validator("MCP_ALLOWED_URLS", "ALLOWED_MODELS", "WEBHOOK_ALLOWED_HOSTS", mode="before")
    @classmethod
    def _split_lists(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(item.strip() for item in value.split(",") if item.strip())
        return value

    @field_validator("WEBHOOK_ALLOWED_HOSTS")
    @classmethod
    def _lower_hosts(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(host.lower().strip("[]") for host in value)

    @field_validator("BOOTSTRAP_TOKEN", "METRICS_TOKEN")
    @classmethod
    def _unguessable(cls, value: str) -> str:
        if value and (weakness := secret_weakness(value)):
            raise PydanticCustomError("weak_secret", weakness)
        return value

    @field_validator("LOG_LEVEL", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @property
    def rate_limit(self) -> tuple[int, int]:
        """RATE_LIMIT as (requests, window in seconds)."""
        count, unit = self.RATE_LIMIT.split("/")
        return int(count), {"second": 1, "minute": 60, "hour": 3600}[unit]

    def model_allowed(self, model: str, user_models: list[str] | None = None) -> bool:
        """Whether a caller may name `model`; a user's own list replaces ALLOWED_MODELS."""
        allowed = self.ALLOWED_MODELS if user_models is None else tuple(user_models)
        return model == self.OPENAI_MODEL or "*" in allowed or model in allowed

    @property
    def conversation_ttl_seconds(self) -> float:
        return self.CONVERSATION_TTL_MINUTES * 60

    @property
    def api_metrics_dir(self) -> Path:
        """Where the API's gunicorn processes keep their metrics (prometheus-client's
        multiprocess mode); emptied at every API start."""
        default = Path(tempfile.gettempdir()) / f"gateway-api-metrics-{self.API_PORT}"
        return Path(self.API_METRICS_DIR) if self.API_METRICS_DIR else default

    @property
    def upstream_call_budget_seconds(self) -> float:
        """The longest one upstream call can take with all the SDK's retries and backoff."""
        backoff = sum(
            min(0.5 * 2.0**attempt, 8.0) + 60.0 for attempt in range(self.OPENAI_MAX_RETRIES)
        )
        return self.OPENAI_TIMEOUT_SECONDS * (self.OPENAI_MAX_RETRIES + 1) + backoff

    @property
    def webhook_attempt_seconds(self) -> float:
        """The longest one delivery attempt can take: connect, send and wait, each timed."""
        return 3 * self.WEBHOOK_TIMEOUT_SECONDS + 5

    @property
    def visibility_timeout_seconds(self) -> int:
        """Redis redelivers an unacked message after this; it must exceed the longest task."""
        return int(self.JOB_TIMEOUT_SECONDS + self.upstream_call_budget_seconds) + 60


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from the process environment over `.env` (DOTENV_PATH names another file), or,
    given `environ`, from that alone."""
    try:
        if environ is None:
            return Settings()
        # Every field given (its default where `environ` has none): the sources have nothing left.
        given: dict[str, Any] = {
            name: environ.get(name) or field.get_default(call_default_factory=True)
            for name, field in Settings.model_fields.items()
        }
        return Settings(**given)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "settings"
        raise SettingsError(f"invalid setting {name}: {first['msg']}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
