"""API schemas for organizations."""

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, StringConstraints

from app.models import OrganizationKind

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
SubdivisionCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}-[A-Z0-9]{1,3}$")]
InegiCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{5}$")]


class OrganizationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    kind: OrganizationKind
    country: CountryCode = Field(default="MX", description="ISO 3166-1 alpha-2.")
    subdivision: SubdivisionCode | None = Field(
        default=None,
        description="ISO 3166-2, e.g. MX-JAL. Derived from the INEGI code when omitted.",
    )
    inegi_code: InegiCode | None = Field(
        default=None, description="5-digit INEGI code; required for Mexican municipalities."
    )
    website: AnyHttpUrl | None = None


class OrganizationUpdate(BaseModel):
    """Fields to change; absent fields are kept, null clears an optional one."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    kind: OrganizationKind | None = None
    country: CountryCode | None = None
    subdivision: SubdivisionCode | None = None
    inegi_code: InegiCode | None = None
    website: AnyHttpUrl | None = None


class OrganizationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    kind: OrganizationKind
    country: str
    subdivision: str | None
    inegi_code: str | None
    website: str | None
    created_at: datetime
    updated_at: datetime
