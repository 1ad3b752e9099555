"""Sessions of the workspace (/workspace): a browser signed in with an API key.

Only the SHA-256 of the session's token is stored; the token itself lives in the browser's cookie.
A session lasts until `expires_at` (PACTA_SESSION_HOURS after sign-in), until it is ended (sign
out), or until its key is revoked or expires: every request reads the key with the session.
"""

import uuid
from datetime import datetime

from sqlalchemy import Column, ForeignKey
from sqlmodel import Field, SQLModel

from app.models._types import timestamp, utcnow


class WorkspaceSession(SQLModel, table=True):
    __tablename__ = "workspace_sessions"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    api_key_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("api_keys.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    created_at: datetime = timestamp(default_factory=utcnow)
    expires_at: datetime = timestamp()
    ended_at: datetime | None = timestamp(default=None)
