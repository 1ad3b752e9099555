"""create_app(): lifespan (engine), middleware, routers, problem handlers, OpenAPI."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from app.activities.router import router as activities_router
from app.agreements.router import router as agreements_router
from app.api_keys.router import router as api_keys_router
from app.auth.middleware import AuthenticationMiddleware
from app.badges.router import router as badges_router
from app.calendars.router import router as calendars_router
from app.compliance.router import router as compliance_router
from app.config import Settings, get_settings
from app.dashboard.pages import router as dashboard_pages_router
from app.dashboard.router import router as dashboard_router
from app.db import make_engine, make_sessionmaker
from app.deadlines.router import router as deadlines_router
from app.embedded import database_url
from app.embeds.router import router as embeds_router
from app.errors import install_error_handlers
from app.evidence.router import router as evidence_router
from app.exports.router import router as exports_router
from app.health.router import router as health_router
from app.http.cors import CORSMiddleware, HeadMiddleware
from app.http.etag import install_etag_handler
from app.http.lean import install_lean_routes
from app.http.middleware import (
    BodyGuardMiddleware,
    ReadBodyFirstMiddleware,
    RequestContextMiddleware,
)
from app.http.public_url import PublicURLMiddleware
from app.http.routes import api_routes
from app.i18n import LANGUAGES, catalogue
from app.idempotency.middleware import IdempotencyMiddleware
from app.idempotency.ownership import Ownership
from app.imports.router import router as imports_router
from app.legal_reviews.router import router as legal_reviews_router
from app.log.router import router as log_router
from app.log.signing import load_signer
from app.measurements.router import router as measurements_router
from app.metrics.middleware import MetricsMiddleware
from app.metrics.router import router as metrics_router
from app.observability import configure_logging
from app.openapi import add_problem_responses
from app.organizations.router import router as organizations_router
from app.registrations.router import router as registrations_router
from app.storage import EvidenceStorage
from app.targets.router import router as targets_router
from app.webhooks.router import router as webhooks_router
from app.workspace.middleware import WorkspaceSessionMiddleware
from app.workspace.router import router as workspace_router

API_TITLE = "Pacta"
API_DESCRIPTION = (
    "The accountable registry of interinstitutional agreements: sister-city agreements of Mexican "
    "municipalities and states, their legal path, verifiable targets, evidence and a transparency log."
)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open the database pool for this process (an external URL, or the embedded server)."""
    if getattr(app.state, "sessionmaker", None) is not None:
        # Supplied from outside (tests bind the app to their own transaction).
        yield
        return
    settings: Settings = app.state.settings
    url = database_url(settings)
    engine = make_engine(
        url,
        pool_size=settings.db_pool_size,
        statement_timeout_seconds=settings.db_statement_timeout_seconds,
        idle_in_transaction_timeout_seconds=settings.db_idle_in_transaction_timeout_seconds,
    )
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.ownership = Ownership(engine.url.set(drivername="postgresql").render_as_string(hide_password=False))
    try:
        yield
    finally:
        await app.state.ownership.close()
        await engine.dispose()
        app.state.sessionmaker = None


def _operation_id(route: APIRoute) -> str:
    return route.name


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    app = FastAPI(
        title=API_TITLE,
        description=API_DESCRIPTION,
        version="1.0.0",
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
    )
    app.state.settings = settings
    app.state.sessionmaker = None
    # In-process only until the lifespan connects it (tests that bind their own sessions).
    app.state.ownership = Ownership(None)
    app.state.log_signer = load_signer(settings)
    app.state.storage = EvidenceStorage(settings.storage_url or (settings.data_dir / "evidence").resolve().as_uri())
    # Read the catalogues now: a broken one fails the start, not somebody's request.
    for lang in LANGUAGES:
        catalogue(lang)
    install_error_handlers(app)
    install_etag_handler(app)
    routers = (
        health_router,
        organizations_router,
        api_keys_router,
        agreements_router,
        legal_reviews_router,
        registrations_router,
        targets_router,
        measurements_router,
        evidence_router,
        log_router,
        exports_router,
        compliance_router,
        webhooks_router,
        deadlines_router,
        activities_router,
        calendars_router,
        dashboard_router,
        dashboard_pages_router,
        metrics_router,
        badges_router,
        embeds_router,
        workspace_router,
        imports_router,
    )
    for router in routers:
        app.include_router(router)
    app.state.api_routes = api_routes(routers)
    install_lean_routes(app, app.state.api_routes)
    # Added last = outermost. Request context wraps everything; the body guard refuses what the
    # headers already condemn and bounds the body's size and pace; the caller is authenticated
    # (and the route's role checked) before any body is read; only then is a JSON body read
    # whole, or an upload's fingerprinted for idempotency, and the route runs.
    app.add_middleware(IdempotencyMiddleware, ttl_hours=settings.idempotency_ttl_hours)
    app.add_middleware(ReadBodyFirstMiddleware)
    app.add_middleware(AuthenticationMiddleware)
    app.add_middleware(
        BodyGuardMiddleware,
        max_body_bytes=settings.max_body_bytes,
        max_upload_bytes=settings.max_upload_bytes,
        timeout_seconds=settings.body_timeout_seconds,
        min_bytes_per_second=settings.body_min_bytes_per_second,
    )
    # The workspace's cookie session and the CSRF token of its form posts, checked before any body
    # is read; outside the body guard, so that its refusals reach a person as pages.
    app.add_middleware(WorkspaceSessionMiddleware)
    # HEAD becomes a GET without its body before anything matches a route; CORS answers a
    # preflight before authentication or the router's 405 can see it.
    app.add_middleware(HeadMiddleware)
    app.add_middleware(CORSMiddleware, origins=settings.cors_origins)
    app.add_middleware(RequestContextMiddleware)
    if settings.metrics_enabled:
        # Outside the request context, so the 500s it writes for unhandled errors are counted too.
        app.add_middleware(MetricsMiddleware)
    if settings.public_url is not None:
        # Outermost: no layer below ever sees the Host header a client sent.
        app.add_middleware(PublicURLMiddleware, public_url=settings.public_url)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            app.openapi_schema = add_problem_responses(schema, app.routes)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
