"""GET /metrics: Prometheus text, for the operators' scraper (not public)."""

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from app.auth.dependencies import OptionalPrincipal
from app.config import Settings
from app.db import SessionDep
from app.metrics import service

router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text exposition format."}},
)
async def get_metrics(request: Request, session: SessionDep, principal: OptionalPrincipal) -> Response:
    """Requests by route, method and status with latencies, pool use, webhook backlog and log size
    (only from PACTA_METRICS_ALLOW addresses, or with an admin key)."""
    settings: Settings = request.app.state.settings
    client = request.client.host if request.client is not None else None
    service.authorize(client, settings.metrics_allow, principal, request.url.path)
    body = await service.scrape(session, pool_capacity=settings.db_pool_size)
    return Response(content=body, media_type=CONTENT_TYPE_LATEST)
