"""/v1/dashboard: public figures over the public agreements."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from app.auth.dependencies import optional_principal
from app.clock import Today
from app.dashboard import service
from app.dashboard.repository import Filters
from app.dashboard.schemas import DashboardSummary
from app.db import SessionDep

# Public, but a key that is sent must be valid (401 otherwise), as on every endpoint.
router = APIRouter(prefix="/v1/dashboard", tags=["dashboard"], dependencies=[Depends(optional_principal)])

StateCode = Annotated[
    str | None,
    Query(pattern=r"^[A-Z]{2}-[A-Z0-9]{1,3}$", description="The signatory's ISO 3166-2 code (e.g. MX-JAL)."),
]


async def summary_filters(state: StateCode = None, signatory_org_id: uuid.UUID | None = None) -> Filters:
    return service.check_filters(state, signatory_org_id)


@router.get("/summary")
async def get_dashboard_summary(
    filters: Annotated[Filters, Depends(summary_filters)], session: SessionDep, today: Today
) -> DashboardSummary:
    """Public agreements in figures today: counts by facet, key indicator totals, milestone attainment."""
    return await service.summary(session, filters, today=today)
