"""Rules for agreements: who may act, facts checked against reality, derived status, history."""

import dataclasses
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from app import catalogs
from app.agreements import access, repository
from app.agreements.errors import AgreementNotDeletable, AgreementNotFound, DuplicateExternalRef
from app.agreements.repository import Filters
from app.agreements.schemas import AgreementCreate, AgreementRead, AgreementUpdate, FieldChange, HistoryEntry
from app.db import Reader
from app.errors import Forbidden, Issues, NotFound, changes_of
from app.http.etag import check_if_match
from app.http.pagination import PageParams, encode_cursor, make_page
from app.i18n import Text
from app.log import registry as log_registry
from app.log import service as log_service
from app.log.hashing import resource_document
from app.models import Agreement, AgreementParticipant, LogEntry, OrganizationKind
from app.models.agreements import AgreementStatus
from app.principal import Principal
from app.registrations import repository as registration_repository
from app.webhooks import events

RESOURCE = "agreement"
SIGNATORY_KINDS = (OrganizationKind.municipality, OrganizationKind.state, OrganizationKind.federal_body)
# Fields the public never sees in history (they hold legal advice).
PRIVATE_FIELDS = frozenset({"observations", "review_note", "decision_note"})


def document_of(agreement: Agreement, participant_org_ids: Sequence[uuid.UUID]) -> dict[str, Any]:
    """The agreement as the transparency log hashes it: its stored facts and its participants."""
    document = resource_document(agreement)
    document["participant_org_ids"] = sorted(str(p) for p in participant_org_ids)
    return document


def _check_dates(facts: dict[str, Any], today: date, issues: Issues) -> None:
    signed: date | None = facts.get("signed_on")
    force: date | None = facts.get("entry_into_force_on")
    if signed is not None and signed > today:
        issues.add(["signed_on"], Text("agreements.signed_in_future"))
    if signed is None:
        for field in ("entry_into_force_on", "suspended_on", "terminated_on"):
            if facts.get(field) is not None:
                issues.add([field], Text("agreements.needs_signature", field=field))
    else:
        if force is not None and force < signed:
            issues.add(
                ["entry_into_force_on"], Text("validation.not_before", field="entry_into_force_on", other="signed_on")
            )
        for field in ("suspended_on", "terminated_on", "withdrawn_on"):
            value = facts.get(field)
            if value is not None and value < signed:
                issues.add([field], Text("validation.not_before", field=field, other="signed_on"))
        expires = facts.get("expires_on")
        if expires is not None and expires <= max(signed, force or signed):
            issues.add(["expires_on"], Text("agreements.expires_order"))
    if facts.get("terminated_on") is not None and not facts.get("termination_reason"):
        issues.add(["termination_reason"], Text("agreements.termination_needs_reason"))
    if facts.get("termination_reason") and facts.get("terminated_on") is None:
        issues.add(["termination_reason"], Text("agreements.reason_needs_termination"))


async def _check_facts(
    session: AsyncSession,
    facts: dict[str, Any],
    *,
    signatory_org_id: uuid.UUID,
    today: date,
    issues: Issues,
    kinds: dict[uuid.UUID, str] | None = None,
) -> list[uuid.UUID]:
    """Check a complete set of facts; returns the de-duplicated participant ids. `kinds`, when
    the caller already read them, are the kinds of every organization the facts name."""
    for i, counterpart in enumerate(facts.get("counterparts") or []):
        if not catalogs.is_country(counterpart["country"]):
            issues.add(
                ["counterparts", i, "country"], Text("validation.country_code", value=repr(counterpart["country"]))
            )
    for i, language in enumerate(facts.get("languages") or []):
        if not catalogs.is_language(language):
            issues.add(["languages", i], Text("validation.language_code", value=repr(language)))
    _check_dates(facts, today, issues)
    participants = list(dict.fromkeys(facts.get("participant_org_ids") or []))
    if kinds is None:
        found = await repository.organizations(session, [signatory_org_id, *participants])
        kinds = {org_id: org.kind for org_id, org in found.items()}
    signatory = kinds.get(signatory_org_id)
    if signatory is None:
        issues.add(["signatory_org_id"], Text("common.no_organization"))
    elif OrganizationKind(signatory) not in SIGNATORY_KINDS:
        issues.add(
            ["signatory_org_id"],
            Text("agreements.signatory_kind", kind=signatory),
        )
    for i, org_id in enumerate(facts.get("participant_org_ids") or []):
        kind = kinds.get(org_id)
        if kind is None:
            issues.add(["participant_org_ids", i], Text("agreements.no_participant", org_id=org_id))
        elif kind == OrganizationKind.platform:
            issues.add(["participant_org_ids", i], Text("agreements.platform_participant"))
    return participants


def _stored(facts: dict[str, Any]) -> dict[str, Any]:
    stored = {k: v for k, v in facts.items() if k != "participant_org_ids"}
    if "subject_areas" in stored and stored["subject_areas"] is not None:
        stored["subject_areas"] = [str(s) for s in stored["subject_areas"]]
    if "instrument" in stored and stored["instrument"] is not None:
        stored["instrument"] = str(stored["instrument"])
    return stored


async def create_agreement(
    session: AsyncSession, data: AgreementCreate, *, principal: Principal, today: date
) -> AgreementRead:
    agreement = await add_agreement(session, data, principal=principal, today=today)
    return await read_agreement(session, agreement.id, today=today)


async def add_agreement(
    session: AsyncSession,
    data: AgreementCreate,
    *,
    principal: Principal,
    today: date,
    kinds: dict[uuid.UUID, str] | None = None,
    folio_checked: bool = False,
) -> Agreement:
    """Create an agreement (checked, logged, announced) without reading it back: create_agreement,
    and an import's rows. An import reads once for all its rows what each would look up: the
    `kinds` of every organization the rows name, and which folios are taken (`folio_checked`: free
    in this transaction; the unique index still guards against a concurrent writer)."""
    if not access.can_edit(principal, data.signatory_org_id):
        raise Forbidden(Text("agreements.create_forbidden"))
    facts = data.model_dump(mode="python")
    facts["counterparts"] = [c.model_dump(mode="json") for c in data.counterparts]
    issues = Issues()
    participants = await _check_facts(
        session, facts, signatory_org_id=data.signatory_org_id, today=today, issues=issues, kinds=kinds
    )
    issues.raise_if_any()
    if (
        data.external_ref is not None
        and not folio_checked
        and await repository.external_ref_taken(session, data.signatory_org_id, data.external_ref, other_than=None)
    ):
        raise DuplicateExternalRef(Text("agreements.duplicate_external_ref", ref=repr(data.external_ref)))
    agreement = Agreement(**_stored(facts))
    await repository.add(session, agreement)
    if participants:  # a new agreement has none to replace
        await repository.replace_participants(session, agreement.id, participants)
    await _log(session, agreement, participants, principal, log_service.Action.create)
    return agreement


async def _log(
    session: AsyncSession,
    agreement: Agreement,
    participants: Sequence[uuid.UUID],
    principal: Principal | None,
    action: log_service.Action,
) -> None:
    await log_and_announce(
        session,
        actor_org_id=None if principal is None else principal.org_id,
        action=action,
        resource_type=RESOURCE,
        resource_id=agreement.id,
        document=None if action is log_service.Action.delete else document_of(agreement, participants),
        agreement_id=agreement.id,
    )


async def read_agreement(session: AsyncSession, agreement_id: uuid.UUID, *, today: date) -> AgreementRead:
    row = await repository.read_one(session, agreement_id, today)
    if row is None:
        raise AgreementNotFound
    return AgreementRead.model_validate(row)


async def get_visible(
    session: AsyncSession, agreement_id: uuid.UUID, *, principal: Principal | None, today: date
) -> AgreementRead:
    """The agreement if the caller may see it; 404 alike for missing and hidden."""
    read = await read_agreement(session, agreement_id, today=today)
    if not _may_see(principal, read):
        raise AgreementNotFound
    return read


async def get_visible_json(reader: Reader, agreement_id: uuid.UUID, *, principal: Principal | None, today: date) -> str:
    """As get_visible, the AgreementRead as JSON text built by PostgreSQL (the hot single read)."""
    row = await repository.read_one_json(reader, agreement_id, today)
    if row is None or not access.can_see(
        principal,
        signatory_org_id=row["signatory_org_id"],
        public=access.agreement_is_public(row["signed_on"]),
        participant_org_ids=row["participant_org_ids"],
    ):
        raise AgreementNotFound
    document: str = row["document"]
    return document


async def ensure_visible(reader: Reader, agreement_id: uuid.UUID, *, principal: Principal | None) -> None:
    """AgreementNotFound unless the caller may see the agreement (one small statement)."""
    row = await repository.visibility(reader, agreement_id)
    if row is None or not access.can_see(
        principal,
        signatory_org_id=row["signatory_org_id"],
        public=row["signed_on"] is not None,
        participant_org_ids=row["participant_org_ids"],
    ):
        raise AgreementNotFound


async def agreement_of(
    session: AsyncSession, agreement_id: uuid.UUID, *, principal: Principal | None, today: date, not_found: NotFound
) -> AgreementRead:
    """The agreement a child resource belongs to, as the caller may see it; else the child's 404."""
    try:
        return await get_visible(session, agreement_id, principal=principal, today=today)
    except AgreementNotFound as exc:
        raise not_found from exc


class _Child(Protocol):
    agreement_id: uuid.UUID


ChildT = TypeVar("ChildT", bound=_Child)


# repository.get(session, id, for_update=False) of the child's package
ChildGetter = Callable[..., Awaitable[ChildT | None]]


async def visible_child(
    session: AsyncSession,
    get: ChildGetter[ChildT],
    child_id: uuid.UUID,
    *,
    principal: Principal | None,
    today: date,
    not_found: NotFound,
) -> tuple[ChildT, AgreementRead]:
    """A resource that belongs to an agreement, with the agreement, if the caller may see both."""
    child = await get(session, child_id)
    if child is None:
        raise not_found
    return child, await agreement_of(session, child.agreement_id, principal=principal, today=today, not_found=not_found)


@dataclass(frozen=True, slots=True)
class Locked:
    """An agreement locked for a write in this transaction: the row, and its read model as it
    stood before the write (to check If-Match and to announce a status the write moves)."""

    row: Agreement
    before: AgreementRead
    # {id: kind} of its signatory and participants, when the lock was asked to read them.
    org_kinds: dict[uuid.UUID, str] = dataclasses.field(default_factory=dict)


def _may_see(principal: Principal | None, read: AgreementRead) -> bool:
    return access.can_see(
        principal,
        signatory_org_id=read.signatory_org_id,
        public=access.agreement_is_public(read.signed_on),
        participant_org_ids=read.participant_org_ids,
    )


def _checked(
    found: tuple[Agreement, dict[str, Any], dict[uuid.UUID, str]] | None,
    principal: Principal,
    may: Callable[[Principal, uuid.UUID], bool] | None,
    refusal: Text,
    not_found: NotFound,
) -> Locked:
    if found is None:
        raise not_found
    row, read, kinds = found
    before = AgreementRead.model_validate(read)
    if not _may_see(principal, before):
        raise not_found
    if may is not None and not may(principal, row.signatory_org_id):
        raise Forbidden(refusal)
    return Locked(row, before, kinds)


async def lock_for_change(
    session: AsyncSession,
    agreement_id: uuid.UUID,
    *,
    principal: Principal,
    today: date,
    may: Callable[[Principal, uuid.UUID], bool] | None = access.can_edit,
    refusal: Text = Text("agreements.change_forbidden"),
    not_found: NotFound | None = None,
    org_kinds: bool = False,
) -> Locked:
    """Lock the agreement (one statement, which also reads it, and with `org_kinds` the kinds of
    its signatory and participants), then check the caller may see (404) and change (403) it;
    with `may` None the caller judges the second.

    Writes to an agreement's children lock it too: its derived state (legal stage, registration
    state, updated_at) is recomputed from them in the same transaction.
    """
    found = await repository.lock(session, agreement_id, today, org_kinds=org_kinds)
    return _checked(found, principal, may, refusal, not_found or AgreementNotFound())


async def lock_child(
    session: AsyncSession,
    model: type[ChildT],
    child_id: uuid.UUID,
    *,
    principal: Principal,
    today: date,
    not_found: NotFound,
    may: Callable[[Principal, uuid.UUID], bool] | None = access.can_edit,
    refusal: Text = Text("agreements.change_child_forbidden"),
    siblings: bool = False,
    child_too: bool = True,
) -> tuple[ChildT, Locked, list[ChildT]]:
    """A child of an agreement locked for change with its agreement, in one statement that reads
    each row once; then 404 (alike for a missing child and one whose agreement the caller may
    not see) and, given `may`, 403.

    Kinds whose agreement derives a state from all of them (reviews, registrations) ask for
    their `siblings`: all the agreement's children of the kind, locked and returned, the child
    among them, so the derived state is computed without reading any again. `child_too` False
    locks only the agreement (a measurement locks its target's agreement, not the target)."""
    found = await repository.lock_with_child(session, model, child_id, today, siblings=siblings, child_too=child_too)
    if found is None:
        raise not_found
    row, read, family = found
    locked = _checked((row, read, {}), principal, may, refusal, not_found)
    child = next(c for c in family if getattr(c, "id", None) == child_id)
    return child, locked, family


async def _check_signature_against_registrations(
    session: AsyncSession, agreement_id: uuid.UUID, signed_on: date | None, issues: Issues
) -> None:
    """A registration is only ever submitted after the signature (the registrations' own rule):
    moving or removing the signature must not leave one submitted before it."""
    submitted = [r.submitted_on for r in await registration_repository.all_for(session, agreement_id)]
    if not submitted:
        return
    first = min(submitted)
    if signed_on is None:
        issues.add(["signed_on"], Text("agreements.stays_signed", first=first))
    elif signed_on > first:
        issues.add(["signed_on"], Text("agreements.signed_after_submission", first=first))


async def update_agreement(
    session: AsyncSession,
    agreement: Agreement,
    current: AgreementRead,
    data: AgreementUpdate,
    *,
    principal: Principal,
    today: date,
    kinds: dict[uuid.UUID, str] | None = None,
) -> AgreementRead:
    """`kinds`: those of its signatory and participants, read with the lock (Locked.org_kinds);
    they spare a lookup unless the participants change."""
    changes = changes_of(
        data, not_null=("title", "instrument", "counterparts", "subject_areas", "languages", "participant_org_ids")
    )
    if "counterparts" in changes:
        changes["counterparts"] = [c.model_dump(mode="json") for c in (data.counterparts or [])]
    facts = {
        **{k: getattr(agreement, k) for k in AgreementUpdate.model_fields if k != "participant_org_ids"},
        "participant_org_ids": current.participant_org_ids,
        "entry_into_force_on": agreement.entry_into_force_on,
        **changes,
    }
    issues = Issues()
    participants = await _check_facts(
        session,
        facts,
        signatory_org_id=agreement.signatory_org_id,
        today=today,
        issues=issues,
        kinds=None if "participant_org_ids" in changes else kinds,
    )
    if "signed_on" in changes:
        await _check_signature_against_registrations(session, agreement.id, facts.get("signed_on"), issues)
    issues.raise_if_any()
    ref = facts.get("external_ref")
    if (
        "external_ref" in changes
        and ref is not None
        and await repository.external_ref_taken(session, agreement.signatory_org_id, ref, other_than=agreement.id)
    ):
        raise DuplicateExternalRef(Text("agreements.duplicate_external_ref", ref=repr(ref)))
    if "participant_org_ids" in changes:
        await repository.replace_participants(session, agreement.id, participants)
    # One statement writes the change and reads the agreement back as it now reads.
    after = AgreementRead.model_validate(
        await repository.write(session, agreement, {**_stored(changes), "updated_at": datetime.now(UTC)}, today)
    )
    await _log(session, agreement, participants, principal, log_service.Action.update)
    await announce_status(session, agreement.id, current.status, after.status)
    return after


async def change_agreement(
    session: AsyncSession,
    agreement_id: uuid.UUID,
    data: AgreementUpdate,
    *,
    if_match: str | None,
    principal: Principal,
    today: date,
) -> AgreementRead:
    """PATCH: lock the agreement, check If-Match against it as it stands, change it."""
    locked = await lock_for_change(session, agreement_id, principal=principal, today=today, org_kinds=True)
    check_if_match(if_match, locked.before)
    return await update_agreement(
        session, locked.row, locked.before, data, principal=principal, today=today, kinds=locked.org_kinds
    )


async def remove_agreement(
    session: AsyncSession, agreement_id: uuid.UUID, *, if_match: str | None, principal: Principal, today: date
) -> None:
    """DELETE: lock the agreement, check If-Match against it as it stands, delete it."""
    locked = await lock_for_change(session, agreement_id, principal=principal, today=today)
    check_if_match(if_match, locked.before)
    await delete_agreement(session, locked.row, locked.before, principal=principal)


async def delete_agreement(
    session: AsyncSession, agreement: Agreement, current: AgreementRead, *, principal: Principal
) -> None:
    if current.status is AgreementStatus.draft and await repository.has_children(session, agreement.id):
        raise AgreementNotDeletable(Text("agreements.draft_has_children"))
    if current.status is not AgreementStatus.draft:
        raise AgreementNotDeletable(Text("agreements.only_drafts", status=current.status.value))
    await repository.remove(session, agreement)
    await _log(session, agreement, [], principal, log_service.Action.delete)


async def write_child(
    session: AsyncSession,
    locked: Locked,
    *,
    resource_type: str,
    resource_id: uuid.UUID,
    action: log_service.Action,
    principal: Principal,
    today: date,
    resource: SQLModel | None = None,
    document: dict[str, Any] | None = None,
    derived: dict[str, Any] | None = None,
) -> AgreementRead:
    """What every write to a child of an agreement ends with, in its transaction, once the
    child is changed and flushed: the agreement touched (with the state it derives from its
    children, `derived`), the write logged, its event and a status it moved announced.
    `resource` (the child's row) or `document` is what the log records; neither for a deletion.
    Returns the agreement as it now reads."""
    after = AgreementRead.model_validate(
        await repository.write(session, locked.row, {"updated_at": datetime.now(UTC), **(derived or {})}, today)
    )
    if resource is not None:
        document = resource_document(resource)
    await log_and_announce(
        session,
        actor_org_id=principal.org_id,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        document=document,
        agreement_id=locked.row.id,
    )
    await announce_status(session, locked.row.id, locked.before.status, after.status)
    return after


async def log_and_announce(
    session: AsyncSession,
    *,
    actor_org_id: uuid.UUID | None,
    action: log_service.Action,
    resource_type: str,
    resource_id: uuid.UUID,
    document: dict[str, Any] | None,
    agreement_id: uuid.UUID,
) -> LogEntry:
    """Log a write to an agreement or its child, and put the webhook event it stands for into the
    outbox of the same transaction. The writer announces, not the log: the log knows no event."""
    entry = await log_service.append(
        session,
        actor_org_id=actor_org_id,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        document=document,
        agreement_id=agreement_id,
    )
    found = events.event_for_log(resource_type, action.value, document)
    if found is not None:
        event_type, audience = found
        data: dict[str, Any] = {"id": str(resource_id), "agreement_id": str(agreement_id), "log_index": entry.index}
        if document is not None and "status" in document:
            data["status"] = document["status"]
        await events.emit(session, event_type, data, agreement_id=agreement_id, audience=audience)
    return entry


async def announce_status(
    session: AsyncSession, agreement_id: uuid.UUID, before: AgreementStatus, after: AgreementStatus
) -> None:
    """If a write moved the agreement's status, emit agreement.status_changed."""
    if after is not before:
        await events.emit(
            session,
            "agreement.status_changed",
            {"id": agreement_id, "agreement_id": agreement_id, "from": before.value, "to": after.value},
            agreement_id=agreement_id,
        )


async def list_agreements(
    session: AsyncSession, filters: Filters, *, principal: Principal | None, today: date, sort: str, params: PageParams
) -> tuple[list[AgreementRead], str | None]:
    rows = await repository.list_page(session, filters, access.viewer_for(principal), today, sort, params)
    items, cursor = make_page(rows, repository.SORTS[sort], params, lambda r: repository.sort_values(sort, r))
    return [AgreementRead.model_validate(r) for r in items], cursor


async def list_agreements_json(
    reader: Reader, filters: Filters, *, principal: Principal | None, today: date, sort: str, params: PageParams
) -> tuple[list[str], str | None]:
    """The same page as list_agreements, each item already the JSON text of its AgreementRead."""
    page = await repository.list_page_json(reader, filters, access.viewer_for(principal), today, sort, params)
    documents: str | None = page["documents"]
    cursor = None
    if page["found"] > params.limit and documents is not None:
        cursor = encode_cursor(repository.SORTS[sort], repository.sort_values(sort, page))
    # One text of the page's items, already joined by commas (json_page_response joins the list).
    return ([] if documents is None else [documents]), cursor


def _diff(before: Any, after: Any, *, private: bool) -> dict[str, FieldChange]:
    old = before if isinstance(before, dict) else {}
    new = after if isinstance(after, dict) else {}
    changes: dict[str, FieldChange] = {}
    for field in sorted(set(old) | set(new)):
        if field in PRIVATE_FIELDS and not private:
            continue
        if old.get(field) != new.get(field):
            changes[field] = FieldChange(before=old.get(field), after=new.get(field))
    return changes


def _shown(document: Any, resource_type: str, *, insider: bool) -> Any:
    # A child not yet public shows, to those who may not read it yet, the write but not what it holds.
    if insider or not isinstance(document, dict) or access.is_public(resource_type, document.get("status")):
        return document
    return None


async def history(
    session: AsyncSession, current: AgreementRead, *, principal: Principal | None, params: PageParams
) -> tuple[list[HistoryEntry], str | None]:
    rows, previous = await repository.history(session, current.id, params)
    private = access.is_owner(principal, current.signatory_org_id)
    insider = access.sees_unreviewed(principal, current.signatory_org_id, current.participant_org_ids)
    last: dict[str, Any] = {}
    entries: list[HistoryEntry] = []
    kept, cursor = make_page(rows, repository.HISTORY_SORT, params, lambda r: (r[0].index,))
    for entry, stored in kept:
        if entry.resource_id not in last:
            last[entry.resource_id] = _shown(previous.get(entry.resource_id), entry.resource_type, insider=insider)
        document = _shown(stored, entry.resource_type, insider=insider)
        entries.append(
            HistoryEntry(
                index=entry.index,
                at=entry.at,
                actor_org_id=entry.actor_org_id,
                action=entry.action,
                resource_type=entry.resource_type,
                resource_id=entry.resource_id,
                resource_sha256=entry.resource_sha256,
                changes=_diff(last.get(entry.resource_id), document, private=private),
            )
        )
        last[entry.resource_id] = document
    return entries, cursor


async def _logged_documents(session: AsyncSession) -> list[tuple[uuid.UUID, dict[str, Any]]]:
    """Every agreement as its log entries hashed it, for `pacta log verify`."""
    participants = await log_registry.pairs(session, AgreementParticipant, "agreement_id", "organization_id")
    return [(a.id, document_of(a, participants.get(a.id, []))) for a in await log_registry.rows(session, Agreement)]


log_registry.register(RESOURCE, _logged_documents)
