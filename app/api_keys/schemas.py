"""API schemas for API keys."""

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.models import Role
from app.types import Instant


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role
    name: str | None = Field(default=None, min_length=1, max_length=200)
    expires_at: Instant | None = Field(default=None, description="RFC 3339 with offset; in the future.")


class ApiKeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    organization_id: uuid.UUID
    name: str | None
    prefix: str = Field(description="Public part of the key, to recognise it; the secret is never shown again.")
    role: Role
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None = Field(description="Refreshed at most once a minute.")


class ApiKeyCreated(ApiKeyRead):
    secret: str = Field(description="The API key. Shown once: store it now.")
