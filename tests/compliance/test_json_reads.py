"""GET /v1/compliance/findings is JSON text built by PostgreSQL (titles, legal bases and details
written in the reader's language there too): the same bytes the pydantic models write."""

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.dependencies import authenticate
from app.compliance import service
from app.compliance.schemas import Finding
from app.config import Settings
from app.http.pagination import Page, PageParams
from tests.compliance.factories import FINDINGS, LONG_AGO, Registry
from tests.compliance.test_router import Landscape, landscape, registry, world
from tests.factories import TODAY

__all__ = ["landscape", "registry", "world"]  # fixtures


async def test_findings_are_the_pydantic_bytes(
    registry: Registry,
    landscape: Landscape,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    # Facts of every kind: decimals, a level never verified (—), quotes and accents in a title.
    in_force = await registry.agreement(signed_on=LONG_AGO)
    decimal = await registry.target(
        in_force,
        title='Índice "León" \\ de calidad — 東京 😀',
        baseline={"value": 1.5},
        milestones=[{"months": 6, "target_value": 12.25}, {"months": 12, "target_value": 100}],
    )
    await registry.progress(in_force, decimal, date(2024, 7, 1), 0.75)
    await registry.target(in_force, title="Sin avance", milestones=[{"months": 6, "target_value": 3}])
    await registry.target(in_force, title="Sin línea base", baseline=None)
    await registry.measurement(decimal, date(2025, 4, 2), 7.5)
    settings: Settings = registry.app.state.settings
    params = service.params_for(settings, TODAY)
    rules_seen: set[str] = set()
    for actor in ("auditor", "editor", "other_editor"):
        principal = await authenticate(sessionmaker, registry.headers(actor)["Authorization"])
        scope = service.scope_for(principal, rules=[], severity=None, signatory_org_id=None, state=None)
        for lang in ("es", "en"):
            cursor: str | None = None
            while True:
                query: dict[str, str | int] = {"limit": 3}
                if cursor is not None:
                    query["cursor"] = cursor
                headers = {**registry.headers(actor), "Accept-Language": lang}
                response = await registry.client.get(FINDINGS, params=query, headers=headers)
                assert response.status_code == 200, response.text
                items, expected_cursor = await service.findings(
                    session, params, scope, PageParams(3, cursor), lang=lang
                )
                expected = Page[Finding](items=items, next_cursor=expected_cursor)
                assert response.content == expected.model_dump_json().encode()
                rules_seen |= {f.rule for f in items}
                cursor = expected_cursor
                if cursor is None:
                    break
    assert {
        "milestone_not_met",
        "measurement_without_evidence",
        "target_without_baseline",
        "private_counterpart",
        "not_registered",
        "dispute_clause_not_reviewed",
    } <= rules_seen
    assert len(landscape.findings) > 4
