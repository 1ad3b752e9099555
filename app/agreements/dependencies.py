"""Lookups shared by the agreement routes and the routes of their children."""

import uuid
from typing import Annotated

from fastapi import Depends, Path

from app.agreements import service
from app.agreements.schemas import AgreementRead
from app.auth.dependencies import OptionalPrincipal
from app.clock import Today
from app.db import SessionDep

AgreementId = Annotated[uuid.UUID, Path(description="The agreement's id.")]


async def visible_agreement(
    principal: OptionalPrincipal, session: SessionDep, agreement_id: AgreementId, today: Today
) -> AgreementRead:
    """The agreement as the caller may see it; 404 if missing or hidden from them."""
    return await service.get_visible(session, agreement_id, principal=principal, today=today)


VisibleAgreementDep = Annotated[AgreementRead, Depends(visible_agreement)]
