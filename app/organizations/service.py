"""Rules for organizations: real codes, one platform, unique names and INEGI codes."""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app import catalogs
from app.errors import changes_of, field_error
from app.http.pagination import PageParams, make_page
from app.i18n import Text
from app.log import registry as log_registry
from app.log import service as log_service
from app.models import Organization, OrganizationKind
from app.models.organizations import PLATFORM_ORG_ID
from app.organizations import repository
from app.organizations.errors import DuplicateOrganization, OrganizationInUse, OrganizationNotFound
from app.organizations.schemas import OrganizationCreate, OrganizationUpdate
from app.principal import Principal

RESOURCE = "organization"
log_registry.register_table(RESOURCE, Organization)


def _check_facts(facts: dict[str, Any]) -> dict[str, Any]:
    """Validate a complete set of fields against the real catalogues; fill what follows from them."""
    kind = OrganizationKind(facts["kind"])
    country = facts["country"]
    if not catalogs.is_country(country):
        raise field_error(["body", "country"], Text("organizations.country", value=repr(country)))
    subdivision = facts.get("subdivision")
    if subdivision is not None and not catalogs.is_subdivision(subdivision, country=country):
        raise field_error(
            ["body", "subdivision"],
            Text("organizations.subdivision", value=repr(subdivision), country=country),
        )
    inegi_code = facts.get("inegi_code")
    if inegi_code is not None:
        if kind is not OrganizationKind.municipality or country != "MX":
            raise field_error(["body", "inegi_code"], Text("organizations.inegi_only_municipalities"))
        found = catalogs.municipality(inegi_code)
        if found is None:
            raise field_error(
                ["body", "inegi_code"],
                Text("organizations.inegi_unknown", code=inegi_code),
            )
        if subdivision is None:
            facts["subdivision"] = found.subdivision
        elif subdivision != found.subdivision:
            raise field_error(
                ["body", "subdivision"],
                Text(
                    "organizations.inegi_state",
                    code=inegi_code,
                    name=found.name,
                    subdivision=found.subdivision,
                    state=found.state_name,
                    given=subdivision,
                ),
            )
    elif kind is OrganizationKind.municipality and country == "MX":
        raise field_error(["body", "inegi_code"], Text("organizations.inegi_required"))
    if kind is OrganizationKind.state and facts.get("subdivision") is None:
        raise field_error(["body", "subdivision"], Text("organizations.state_subdivision"))
    if facts.get("website") is not None:
        facts["website"] = str(facts["website"])
    return facts


async def _check_unique(session: AsyncSession, facts: dict[str, Any], *, other_than: uuid.UUID | None) -> None:
    if await repository.name_taken(session, facts["name"], other_than=other_than):
        raise DuplicateOrganization(Text("organizations.duplicate_name", name=repr(facts["name"])))
    code = facts.get("inegi_code")
    if code is not None:
        holder = await repository.by_inegi_code(session, code)
        if holder is not None and holder.id != other_than:
            raise DuplicateOrganization(
                Text("organizations.duplicate_inegi", code=code, holder=holder.id),
                extra={"existing_id": str(holder.id)},
            )


async def create_organization(
    session: AsyncSession, data: OrganizationCreate, *, actor_org_id: uuid.UUID | None
) -> Organization:
    if data.kind is OrganizationKind.platform:
        raise field_error(["body", "kind"], Text("organizations.one_platform"))
    facts = _check_facts(data.model_dump())
    await _check_unique(session, facts, other_than=None)
    org = Organization(**facts)
    await repository.add(session, org)
    await log_service.append(
        session,
        actor_org_id=actor_org_id,
        action=log_service.Action.create,
        resource_type=RESOURCE,
        resource_id=org.id,
        resource=org,
    )
    return org


async def get_organization(session: AsyncSession, org_id: uuid.UUID, *, for_update: bool = False) -> Organization:
    org = await repository.get(session, org_id, for_update=for_update)
    if org is None:
        raise OrganizationNotFound
    return org


async def resolve_organization(session: AsyncSession, ref: str) -> Organization:
    """An organization by id or by exact (case-insensitive) name, as the CLI accepts it."""
    try:
        org = await repository.get(session, uuid.UUID(ref))
    except ValueError:
        org = await repository.find_by_name(session, ref)
    if org is None:
        raise OrganizationNotFound
    return org


async def list_organizations(
    session: AsyncSession,
    params: PageParams,
    *,
    kind: str | None = None,
    country: str | None = None,
    subdivision: str | None = None,
) -> tuple[Sequence[Organization], str | None]:
    rows = await repository.list_page(session, params, kind=kind, country=country, subdivision=subdivision)
    return make_page(rows, repository.BY_NAME, params, lambda o: (o.name.lower(), o.id))


async def update_organization(
    session: AsyncSession, org: Organization, data: OrganizationUpdate, *, principal: Principal
) -> Organization:
    changes = changes_of(data, not_null=("name", "kind", "country"))
    facts = {c: getattr(org, c) for c in ("name", "kind", "country", "subdivision", "inegi_code", "website")}
    if "inegi_code" in changes and "subdivision" not in changes:
        facts["subdivision"] = None  # re-derived from the new code
    facts.update(changes)
    is_platform = org.id == PLATFORM_ORG_ID
    if is_platform != (facts["kind"] == OrganizationKind.platform):
        raise field_error(
            ["body", "kind"],
            Text("organizations.platform_kind"),
        )
    facts = _check_facts(facts)
    await _check_unique(session, facts, other_than=org.id)
    for field, value in facts.items():
        setattr(org, field, value.value if isinstance(value, OrganizationKind) else value)
    org.updated_at = datetime.now(UTC)
    await repository.add(session, org)
    await log_service.append(
        session,
        actor_org_id=principal.org_id,
        action=log_service.Action.update,
        resource_type=RESOURCE,
        resource_id=org.id,
        resource=org,
    )
    return org


async def delete_organization(session: AsyncSession, org: Organization, *, principal: Principal) -> None:
    if org.id == PLATFORM_ORG_ID:
        raise OrganizationInUse(Text("organizations.platform_delete"))
    if await repository.has_keys(session, org.id):
        raise OrganizationInUse(Text("organizations.has_keys"))
    org_id = org.id
    await repository.remove(session, org)
    await log_service.append(
        session,
        actor_org_id=principal.org_id,
        action=log_service.Action.delete,
        resource_type=RESOURCE,
        resource_id=org_id,
        resource=None,
    )
