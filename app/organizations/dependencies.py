"""Lookups shared by the organization routes."""

import uuid
from typing import Annotated

from fastapi import Depends, Path

from app.db import SessionDep
from app.models import Organization
from app.organizations import service


async def organization_or_404(
    session: SessionDep,
    organization_id: Annotated[uuid.UUID, Path(description="The organization's id.")],
) -> Organization:
    return await service.get_organization(session, organization_id)


async def organization_for_update(
    session: SessionDep,
    organization_id: Annotated[uuid.UUID, Path(description="The organization's id.")],
) -> Organization:
    """The row, locked until the transaction ends, so If-Match is checked against what is written."""
    return await service.get_organization(session, organization_id, for_update=True)


OrganizationDep = Annotated[Organization, Depends(organization_or_404)]
LockedOrganizationDep = Annotated[Organization, Depends(organization_for_update)]
