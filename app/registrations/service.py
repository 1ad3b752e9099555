"""Rules for registrations, and the registration state they give their agreement."""

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements import access
from app.agreements import service as agreement_service
from app.agreements.schemas import AgreementRead
from app.errors import Issues, changes_of
from app.evidence import repository as evidence_repository
from app.http.etag import check_if_match
from app.http.pagination import PageParams, make_page
from app.i18n import Text
from app.log import registry as log_registry
from app.log import service as log_service
from app.models import Agreement, Registration
from app.models.agreements import RegistrationState, Registry
from app.principal import Principal
from app.registrations import repository
from app.registrations.errors import RegistrationNotFound
from app.registrations.schemas import RegistrationCreate, RegistrationRead, RegistrationUpdate

RESOURCE = "registration"
log_registry.register_table(RESOURCE, Registration)
REFUSAL = Text("registrations.change_forbidden")


def registration_state(registrations: Sequence[Registration]) -> RegistrationState | None:
    """The latest SRE registration decides the agreement's registration status."""
    sre = [r for r in registrations if r.registry_kind == Registry.sre]
    if not sre:
        return None
    latest = max(sre, key=lambda r: (r.registered_on or r.submitted_on, r.created_at))
    return RegistrationState(latest.status)


async def _check(session: AsyncSession, facts: dict[str, Any], agreement: Agreement, today: date) -> None:
    issues = Issues()
    add = issues.add_field

    submitted, registered = facts["submitted_on"], facts.get("registered_on")
    state = RegistrationState(facts["status"])
    if agreement.signed_on is None:
        add("submitted_on", Text("registrations.needs_signature"))
    elif submitted < agreement.signed_on:
        add("submitted_on", Text("registrations.submitted_before_signed"))
    if submitted > today:
        add("submitted_on", Text("validation.not_future", field="submitted_on"))
    if registered is not None and registered > today:
        add("registered_on", Text("validation.not_future", field="registered_on"))
    if registered is not None and registered < submitted:
        add("registered_on", Text("validation.not_before", field="registered_on", other="submitted_on"))
    if state is RegistrationState.registered:
        if registered is None:
            add("registered_on", Text("registrations.needs_date"))
        if not facts.get("registry_number"):
            add("registry_number", Text("registrations.needs_number"))
    elif registered is not None:
        add("registered_on", Text("registrations.date_with_status", status=state.value))
    document_id = facts.get("document_id")
    if document_id is not None and not await evidence_repository.of_agreement(session, agreement.id, [document_id]):
        add("document_id", Text("common.no_evidence_on_agreement"))
    issues.raise_if_any()


def to_read(registration: Registration, *, private: bool) -> RegistrationRead:
    data = {k: getattr(registration, k) for k in RegistrationRead.model_fields if k != "registry"}
    read = RegistrationRead(registry=Registry(registration.registry_kind), **data)
    return read if private else read.model_copy(update={"observations": None})


def _stored(facts: dict[str, Any]) -> dict[str, Any]:
    stored = {("registry_kind" if k == "registry" else k): v for k, v in facts.items()}
    return {k: (v.value if isinstance(v, Registry | RegistrationState) else v) for k, v in stored.items()}


def _derived(registrations: Sequence[Registration]) -> dict[str, Any]:
    """What the agreement takes from its registrations (written with its touch)."""
    state = registration_state(registrations)
    return {"registration_state": None if state is None else state.value}


async def create_registration(
    session: AsyncSession, agreement_id: uuid.UUID, data: RegistrationCreate, *, principal: Principal, today: date
) -> RegistrationRead:
    locked = await agreement_service.lock_for_change(
        session, agreement_id, principal=principal, today=today, refusal=REFUSAL
    )
    facts = data.model_dump(mode="python")
    await _check(session, facts, locked.row, today)
    registration = Registration(agreement_id=locked.row.id, **_stored(facts))
    await repository.add(session, registration)
    await agreement_service.write_child(
        session,
        locked,
        resource_type=RESOURCE,
        resource_id=registration.id,
        resource=registration,
        action=log_service.Action.create,
        principal=principal,
        today=today,
        derived=_derived(await repository.all_for(session, locked.row.id)),
    )
    return to_read(registration, private=True)


async def read_registration(
    session: AsyncSession, registration_id: uuid.UUID, *, principal: Principal | None, today: date
) -> RegistrationRead:
    """The registration as the caller may read it: its private fields only for the agreement's owners."""
    registration, agreement = await agreement_service.visible_child(
        session, repository.get, registration_id, principal=principal, today=today, not_found=RegistrationNotFound()
    )
    return to_read(registration, private=access.is_owner(principal, agreement.signatory_org_id))


async def lock_registration(
    session: AsyncSession, registration_id: uuid.UUID, *, principal: Principal, today: date
) -> tuple[Registration, agreement_service.Locked, list[Registration]]:
    """The registration locked for change, with its agreement and all the agreement's registrations."""
    return await agreement_service.lock_child(
        session,
        Registration,
        registration_id,
        principal=principal,
        today=today,
        not_found=RegistrationNotFound(),
        refusal=REFUSAL,
        siblings=True,
    )


async def change_registration(
    session: AsyncSession,
    registration_id: uuid.UUID,
    data: RegistrationUpdate,
    *,
    if_match: str | None,
    principal: Principal,
    today: date,
) -> RegistrationRead:
    """PATCH: lock the registration with its agreement, check If-Match against it as it stands,
    change it."""
    registration, locked, siblings = await lock_registration(session, registration_id, principal=principal, today=today)
    check_if_match(if_match, to_read(registration, private=True))
    return await update_registration(session, registration, locked, siblings, data, principal=principal, today=today)


async def update_registration(
    session: AsyncSession,
    registration: Registration,
    locked: agreement_service.Locked,
    siblings: list[Registration],
    data: RegistrationUpdate,
    *,
    principal: Principal,
    today: date,
) -> RegistrationRead:
    changes = changes_of(data, not_null=("registry", "status", "submitted_on"))
    current = to_read(registration, private=True).model_dump(include=set(RegistrationUpdate.model_fields))
    facts = current | changes
    await _check(session, facts, locked.row, today)
    for field, value in _stored(changes).items():
        setattr(registration, field, value)
    registration.updated_at = datetime.now(UTC)
    await repository.add(session, registration)
    await agreement_service.write_child(
        session,
        locked,
        resource_type=RESOURCE,
        resource_id=registration.id,
        resource=registration,
        action=log_service.Action.update,
        principal=principal,
        today=today,
        derived=_derived(siblings),
    )
    return to_read(registration, private=True)


async def list_registrations(
    session: AsyncSession, agreement: AgreementRead, params: PageParams, *, principal: Principal | None
) -> tuple[list[RegistrationRead], str | None]:
    rows = await repository.list_page(session, agreement.id, params)
    items, cursor = make_page(rows, repository.BY_CREATED, params, lambda r: (r.created_at, r.id))
    private = access.is_owner(principal, agreement.signatory_org_id)
    return [to_read(r, private=private) for r in items], cursor
