"""Settings, read from the environment (prefix ``PACTA_``) and reached only through get_settings()."""

import os
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.http.public_url import parse_public_url

ENV_PREFIX = "PACTA_"
# Variables with the prefix that are read by the tooling, not by the service itself.
TOOLING_VARIABLES = frozenset({"PACTA_TEST_DATABASE_URL"})


class Settings(BaseSettings):
    """Every knob of the service. Unknown ``PACTA_*`` variables are refused, so typos surface."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid")

    database_url: SecretStr | None = Field(
        default=None,
        description="PostgreSQL URL. Unset: an embedded PostgreSQL is started under data_dir.",
    )
    data_dir: Path = Path(".pacta")
    timezone: str = "America/Mexico_City"
    # The language of texts for people when the client names none we speak (Accept-Language).
    default_language: Literal["es", "en"] = "es"
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_upload_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)
    import_max_rows: int = Field(
        default=10_000,
        ge=1,
        description="Most data rows a real (not dry-run) import writes: it holds the log's head until it commits.",
    )
    registration_grace_days: int = Field(default=90, ge=0)
    dormancy_months: int = Field(default=12, ge=1)
    idempotency_ttl_hours: int = Field(default=24, ge=24)
    body_timeout_seconds: float = Field(
        default=30.0, gt=0, le=3600, description="Longest pause while a request body arrives (else 408)."
    )
    body_min_bytes_per_second: float = Field(
        default=10 * 1024, gt=0, description="Slowest average pace of a request body once the pause allowance is over."
    )
    db_pool_size: int = Field(
        default=20, ge=1, description="Most connections each process keeps to PostgreSQL (opened as needed, then kept)."
    )
    db_statement_timeout_seconds: float = Field(
        default=30.0, ge=0, description="PostgreSQL statement_timeout of the service's pool (0: none)."
    )
    db_idle_in_transaction_timeout_seconds: float = Field(
        default=60.0, ge=0, description="PostgreSQL idle_in_transaction_session_timeout of the pool (0: none)."
    )
    log_level: str = "INFO"
    metrics_enabled: bool = Field(
        default=True, description="Count and time every request for GET /metrics (off: only its database gauges)."
    )
    metrics_allow: list[IPv4Network | IPv6Network] = Field(
        default=[IPv4Network("127.0.0.0/8"), IPv6Network("::1/128")],
        description="Networks that may read GET /metrics without a key (JSON list of CIDRs); "
        "from elsewhere it takes an admin key.",
    )
    public_url: str | None = Field(
        default=None,
        description="Base of every absolute URL the service writes (Link, Location, content_url, feeds), "
        "e.g. https://pacta.example.org. Unset: the request's own base URL.",
    )
    storage_url: str | None = None
    log_signing_key: SecretStr | None = Field(
        default=None,
        description="Base64 of the 32-byte Ed25519 seed that signs checkpoints. Unset with the embedded "
        "database: generated once and kept in data_dir.",
    )
    log_origin: str = Field(default="pacta-registry", min_length=1, max_length=200, pattern=r"^[^\s]+$")
    webhooks_retry_base_seconds: float = Field(default=5.0, gt=0)
    webhooks_allow_loopback: bool = False
    webhooks_max_attempts: int = Field(default=8, ge=1, le=30)
    webhooks_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    webhooks_failing_after: int = Field(
        default=5, ge=1, description="Consecutive failures before a subscription is marked failing."
    )
    webhooks_deadline_offsets_days: list[int] = Field(
        default=[30, 7, 1], description="deadline.approaching fires this many days before."
    )
    cors_origins: list[str] = Field(
        default=[],
        description="Origins whose scripts may call with a key (JSON list); anonymous public reads are open to all.",
    )
    embed_origins: list[str] = Field(
        default=["*"],
        description="frame-ancestors of the /embed pages (JSON list); every other page stays unframeable.",
    )
    session_hours: float = Field(
        default=12, gt=0, le=24 * 30, description="How long a workspace sign-in lasts (/workspace sessions)."
    )
    webhooks_scan_seconds: float = Field(
        default=300.0, gt=0, description="How often the worker looks for deadlines and new findings."
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("public_url")
    @classmethod
    def _absolute_public_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parse_public_url(value)
        return value.strip().rstrip("/")

    @model_validator(mode="before")
    @classmethod
    def _refuse_unknown_variables(cls, data: Any) -> Any:
        known = {ENV_PREFIX + name.upper() for name in cls.model_fields} | TOOLING_VARIABLES
        unknown = sorted(k for k in os.environ if k.upper().startswith(ENV_PREFIX) and k.upper() not in known)
        if unknown:
            raise ValueError(f"unknown settings in the environment: {', '.join(unknown)}")
        return data

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
