"""Organizations (actors) and their API keys."""

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, text
from sqlmodel import Field, SQLModel

from app.models._types import one_of, timestamp, utcnow

PLATFORM_ORG_ID = uuid.UUID("00000000-0000-4000-8000-000000000001")


class OrganizationKind(StrEnum):
    platform = "platform"
    municipality = "municipality"
    state = "state"
    federal_body = "federal_body"
    university = "university"
    business_chamber = "business_chamber"
    civil_society = "civil_society"
    auditor = "auditor"


class Role(StrEnum):
    admin = "admin"
    editor = "editor"
    legal_reviewer = "legal_reviewer"
    contributor = "contributor"
    auditor = "auditor"


class Organization(SQLModel, table=True):
    __tablename__ = "organizations"
    __table_args__ = (
        one_of("kind", OrganizationKind),
        CheckConstraint("country ~ '^[A-Z]{2}$'", name="country_format"),
        CheckConstraint("inegi_code IS NULL OR inegi_code ~ '^[0-9]{5}$'", name="inegi_code_format"),
        CheckConstraint(
            "kind <> 'municipality' OR country <> 'MX' OR inegi_code IS NOT NULL",
            name="mx_municipality_has_inegi_code",
        ),
        Index("uq_organizations_name_ci", text("lower(name)"), unique=True),
        Index(
            "uq_organizations_inegi_code",
            "inegi_code",
            unique=True,
            postgresql_where=text("inegi_code IS NOT NULL"),
        ),
        Index(
            "uq_organizations_single_platform",
            "kind",
            unique=True,
            postgresql_where=text("kind = 'platform'"),
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(max_length=300)
    kind: str
    country: str = Field(max_length=2)
    subdivision: str | None = Field(default=None, max_length=6)
    inegi_code: str | None = Field(default=None, max_length=5)
    website: str | None = Field(default=None, max_length=2000)
    created_at: datetime = timestamp(default_factory=utcnow)
    updated_at: datetime = timestamp(default_factory=utcnow)


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_keys"
    __table_args__ = (
        one_of("role", Role),
        CheckConstraint(
            "role <> 'admin' OR organization_id = '00000000-0000-4000-8000-000000000001'",
            name="admin_only_platform",
        ),
    )
    # Changes on every use; not part of the resource as the transparency log hashes it.
    __log_exclude__ = frozenset({"last_used_at", "secret_hash"})

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    organization_id: uuid.UUID = Field(foreign_key="organizations.id", index=True, ondelete="RESTRICT")
    name: str | None = Field(default=None, max_length=200)
    role: str
    prefix: str = Field(max_length=16, unique=True)
    secret_hash: str = Field(max_length=64)
    created_at: datetime = timestamp(default_factory=utcnow)
    expires_at: datetime | None = timestamp(default=None)
    revoked_at: datetime | None = timestamp(default=None)
    last_used_at: datetime | None = timestamp(default=None)
